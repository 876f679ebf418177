// An untrusted script that tries to read the host's /etc/passwd. rexec refuses:
// the guest only sees its root (this directory), and the message names the flag
// (--allow-read) a user would have to give to allow it.
//
//   node bin/rexec.js run examples/read-passwd.js      # exit code 7
const fs = require("fs");
const text = fs.readFileSync("/etc/passwd", "utf8");
console.log(text.split("\n")[0]);
