// Guest bundle: structuredClone from core-js (pure build). It clones inside the
// guest's own realm — Map, Set, Date, RegExp, ArrayBuffers and views, errors,
// cycles and shared references — and throws DataCloneError for functions and
// other uncloneable values, as the HTML standard says.
import structuredClone from "core-js-pure/stable/structured-clone.js";

export { structuredClone };
