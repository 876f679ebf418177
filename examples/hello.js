// A first guest script: it can compute and print, and nothing else.
const greet = (name) => `hello, ${name}`;
console.log(greet(process.argv[2] ?? "world"));
console.log("2 ** 10 =", 2 ** 10);
