// Guest bundle: `Intl.NumberFormat` and `Intl.DateTimeFormat`, formatted on
// the host by Node's own Intl (full ICU), and the toLocaleString methods of
// Number, BigInt and Date built on them.
//
// Why the host: QuickJS-ng has no Intl at all, and its toLocaleString ignores
// the locale ((1234.5).toLocaleString("de-DE") gives "1234.5" — silently wrong).
// A guest-side locale database would weigh megabytes per realm; the host has
// ICU already. What crosses is small and checked: the locale list (at most 16
// tags of at most 64 characters of [A-Za-z0-9-]) and the options, reduced here
// to the known option names with primitive values (strings at most 64
// characters), as JSON text; the value is a number or a bounded decimal string.
// The host parses and validates that text again and never sees a guest object.
//
// Defaults are fixed, never the host's: locale "en-US", time zone "UTC" (the
// guest's Date runs in UTC too), so output does not depend on the machine.
// Other Intl members (Collator, PluralRules, …) are absent (undefined), which
// feature checks see honestly.

const NUMBER_KEYS = ["localeMatcher", "style", "currency", "currencyDisplay", "currencySign", "unit", "unitDisplay", "minimumIntegerDigits", "minimumFractionDigits", "maximumFractionDigits", "minimumSignificantDigits", "maximumSignificantDigits", "useGrouping", "notation", "compactDisplay", "signDisplay", "roundingMode", "roundingIncrement", "roundingPriority", "trailingZeroDisplay", "numberingSystem"];
const DATE_KEYS = ["localeMatcher", "calendar", "numberingSystem", "hour12", "hourCycle", "timeZone", "weekday", "era", "year", "month", "day", "dayPeriod", "hour", "minute", "second", "fractionalSecondDigits", "timeZoneName", "formatMatcher", "dateStyle", "timeStyle"];
const MAX_LOCALES = 16, MAX_TAG = 64, MAX_OPTION = 64, MAX_BIGINT_DIGITS = 1000;
const TAG = /^[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8})*$/;

/** The locale list as the host gets it: an array of well-formed tags. */
function localeList(locales) {
  if (locales === undefined) return [];
  const list = typeof locales === "string" ? [locales] : locales;
  if (list === null || (typeof list !== "object" && typeof list !== "function")) throw new TypeError("Intl: locales must be a string or an array of strings");
  const length = list.length;
  if (!(length >= 0 && length <= MAX_LOCALES)) throw new RangeError(`Intl: at most ${MAX_LOCALES} locales are accepted`);
  const out = [];
  for (let i = 0; i < length; i++) {
    const tag = list[i];
    if (typeof tag !== "string" && (typeof tag !== "object" || tag === null)) throw new TypeError("Intl: a locale must be a string");
    const text = `${tag}`;
    if (text.length > MAX_TAG || !TAG.test(text)) {
      throw new RangeError(`Incorrect locale information provided${text.length <= MAX_TAG ? `: "${text}"` : ` (a tag of ${text.length} characters)`}`);
    }
    out.push(text);
  }
  return out;
}

/** The known options with primitive values; everything else is left behind. */
function optionList(options, names) {
  const out = {};
  if (options === undefined) return out;
  if (options === null) throw new TypeError("Intl: options must be an object");
  for (const name of names) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value === "boolean" || typeof value === "number") out[name] = value;
    else {
      const text = `${value}`;
      if (text.length > MAX_OPTION) throw new RangeError(`Intl: option ${name} is too long (${text.length} characters; at most ${MAX_OPTION})`);
      out[name] = text;
    }
  }
  return out;
}

export function makeIntl(native) {
  const call = (kind, spec, op, value, value2) => native("intl", kind, spec, op, value, value2);
  const specOf = (locales, options, keys) => JSON.stringify([localeList(locales), optionList(options, keys)]);
  const numeric = (x) => {
    if (typeof x === "bigint") {
      const text = `${x}`;
      if (text.replace("-", "").length > MAX_BIGINT_DIGITS) throw new RangeError(`Intl.NumberFormat: a BigInt of more than ${MAX_BIGINT_DIGITS} digits is not formatted in this sandbox`);
      return text;
    }
    return Number(x);
  };
  const timeValue = (x) => {
    const t = x === undefined ? Date.now() : Number(x);
    if (!Number.isFinite(t)) throw new RangeError("Invalid time value");
    return t;
  };

  const specs = new WeakMap();
  const specOfThis = (self, what) => {
    const spec = specs.get(self);
    if (spec === undefined) throw new TypeError(`Method ${what} called on incompatible receiver`);
    return spec;
  };

  class NumberFormatImpl {
    #format;
    constructor(locales, options) {
      const spec = specOf(locales, options, NUMBER_KEYS);
      call("number", spec, "resolvedOptions"); // throws now for bad options, as Node does
      specs.set(this, spec);
    }
    get format() {
      const spec = specOfThis(this, "get Intl.NumberFormat.prototype.format");
      this.#format ??= (x) => call("number", spec, "format", numeric(x));
      return this.#format;
    }
    formatToParts(x) {
      return call("number", specOfThis(this, "Intl.NumberFormat.prototype.formatToParts"), "formatToParts", numeric(x));
    }
    resolvedOptions() {
      return call("number", specOfThis(this, "Intl.NumberFormat.prototype.resolvedOptions"), "resolvedOptions");
    }
    static supportedLocalesOf(locales) {
      return call("number", specOf(locales, undefined, NUMBER_KEYS), "supportedLocalesOf");
    }
    get [Symbol.toStringTag]() {
      return "Intl.NumberFormat";
    }
  }

  class DateTimeFormatImpl {
    #format;
    constructor(locales, options) {
      const spec = specOf(locales, options, DATE_KEYS);
      call("date", spec, "resolvedOptions");
      specs.set(this, spec);
    }
    get format() {
      const spec = specOfThis(this, "get Intl.DateTimeFormat.prototype.format");
      this.#format ??= (x) => call("date", spec, "format", timeValue(x));
      return this.#format;
    }
    formatToParts(x) {
      return call("date", specOfThis(this, "Intl.DateTimeFormat.prototype.formatToParts"), "formatToParts", timeValue(x));
    }
    formatRange(a, b) {
      return call("date", specOfThis(this, "Intl.DateTimeFormat.prototype.formatRange"), "formatRange", timeValue(a), timeValue(b));
    }
    resolvedOptions() {
      return call("date", specOfThis(this, "Intl.DateTimeFormat.prototype.resolvedOptions"), "resolvedOptions");
    }
    static supportedLocalesOf(locales) {
      return call("date", specOf(locales, undefined, DATE_KEYS), "supportedLocalesOf");
    }
    get [Symbol.toStringTag]() {
      return "Intl.DateTimeFormat";
    }
  }

  // Like the standard's constructors, these also work without `new` (code
  // such as `Intl.DateTimeFormat().resolvedOptions()` relies on it).
  const callable = (Impl, name) => {
    const ctor = function (locales, options) {
      return new Impl(locales, options);
    };
    Object.defineProperty(ctor, "name", { value: name });
    Object.defineProperty(ctor, "prototype", { value: Impl.prototype, writable: false });
    Object.defineProperty(Impl.prototype, "constructor", { value: ctor, writable: true, configurable: true });
    ctor.supportedLocalesOf = Impl.supportedLocalesOf;
    return ctor;
  };
  const NumberFormat = callable(NumberFormatImpl, "NumberFormat");
  const DateTimeFormat = callable(DateTimeFormatImpl, "DateTimeFormat");

  const Intl = {
    NumberFormat,
    DateTimeFormat,
    getCanonicalLocales(locales) {
      return call("number", specOf(locales, undefined, NUMBER_KEYS), "getCanonicalLocales");
    },
  };
  Object.defineProperty(Intl, Symbol.toStringTag, { value: "Intl", configurable: true });

  /** Number/BigInt.prototype.toLocaleString. */
  const numberToLocale = (x, locales, options) => call("number", specOf(locales, options, NUMBER_KEYS), "format", numeric(x));
  /** Date.prototype.toLocale{,Date,Time}String: Node fills in the default fields for each. */
  const dateToLocale = (op, t, locales, options) => (Number.isFinite(t) ? call("date", specOf(locales, options, DATE_KEYS), op, t) : "Invalid Date");
  return { Intl, numberToLocale, dateToLocale };
}
