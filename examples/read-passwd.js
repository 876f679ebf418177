// An untrusted script that tries to read the host's /etc/passwd. rexec refuses:
// nothing is readable that no flag grants, and the message names the exact flag
// and path that would allow it ("rerun with --allow-read=/etc/passwd").
//
//   node bin/rexec.js run examples/read-passwd.js                        # exit code 7
//   node bin/rexec.js run --allow-read=/etc/passwd examples/read-passwd.js # prints the first line
// Flags go before the script: after it they are the script's own arguments.
const fs = require("fs");
const text = fs.readFileSync("/etc/passwd", "utf8");
console.log(text.split("\n")[0]);
