// A formula evaluator for user-written spreadsheet formulas. The formulas are
// untrusted: each is parsed by a small recursive-descent parser (no eval, no
// Function) and evaluated against the cells. Pass formulas as arguments:
//
//   node bin/rexec.js run examples/formula/formula.js "A1 * (B1 + 2)" "SUM(A1, B1, 10) / 3"
const cells = { A1: 4, B1: 2.5, C1: -1 };
const functions = {
  SUM: (...xs) => xs.reduce((a, b) => a + b, 0),
  MIN: Math.min,
  MAX: Math.max,
  ABS: Math.abs,
  ROUND: (x, d = 0) => Math.round(x * 10 ** d) / 10 ** d,
};

function tokenize(src) {
  const tokens = [];
  const re = /\s*(?:(\d+(?:\.\d+)?)|([A-Z][A-Z0-9]*)|(.))/gy;
  let m;
  while (re.lastIndex < src.length && (m = re.exec(src))) {
    if (m[1]) tokens.push({ type: "num", value: Number(m[1]) });
    else if (m[2]) tokens.push({ type: "name", value: m[2] });
    else if (m[3] && m[3].trim()) tokens.push({ type: "op", value: m[3] });
  }
  return tokens;
}

function evaluate(src) {
  const tokens = tokenize(src);
  let i = 0;
  const peek = () => tokens[i];
  const take = (value) => {
    const t = tokens[i];
    if (value !== undefined && (!t || t.value !== value)) throw new SyntaxError(`expected "${value}" in ${JSON.stringify(src)}`);
    i++;
    return t;
  };
  function expr() {
    let v = term();
    while (peek() && (peek().value === "+" || peek().value === "-")) v = take().value === "+" ? v + term() : v - term();
    return v;
  }
  function term() {
    let v = factor();
    while (peek() && (peek().value === "*" || peek().value === "/")) v = take().value === "*" ? v * factor() : v / factor();
    return v;
  }
  function factor() {
    const t = take();
    if (!t) throw new SyntaxError(`unexpected end of ${JSON.stringify(src)}`);
    if (t.type === "num") return t.value;
    if (t.value === "-") return -factor();
    if (t.value === "(") { const v = expr(); take(")"); return v; }
    if (t.type === "name" && peek() && peek().value === "(") {
      const fn = functions[t.value];
      if (!fn) throw new ReferenceError(`unknown function ${t.value}`);
      take("(");
      const args = [];
      if (peek() && peek().value !== ")") { args.push(expr()); while (peek() && peek().value === ",") { take(","); args.push(expr()); } }
      take(")");
      return fn(...args);
    }
    if (t.type === "name") {
      if (!(t.value in cells)) throw new ReferenceError(`unknown cell ${t.value}`);
      return cells[t.value];
    }
    throw new SyntaxError(`unexpected "${t.value}" in ${JSON.stringify(src)}`);
  }
  const v = expr();
  if (i < tokens.length) throw new SyntaxError(`unexpected "${tokens[i].value}" in ${JSON.stringify(src)}`);
  return v;
}

const formulas = process.argv.slice(2);
if (formulas.length === 0) formulas.push("A1 * (B1 + 2)", "ROUND(SUM(A1, B1, C1) / 3, 2)");
let failed = 0;
for (const f of formulas) {
  try {
    console.log(`${f} = ${evaluate(f)}`);
  } catch (e) {
    failed++;
    console.error(`${f}: ${e.name}: ${e.message}`);
  }
}
process.exit(failed ? 10 : 0);
