// A data table: heads over rows, in a wrapper that scrolls sideways on a
// narrow screen.

import {h} from "../ui.js";

/**
 * A <table class="table …"> (props: class, id…) with a head row of heads
 * (texts or nodes, or [content, th props]) over body (a <tbody>, or rows
 * to put in one). opts.card: the wrapper is a card (default true);
 * opts.wrap false: the bare table, for a wrapper the page already has.
 */
export function table(props, heads, body, opts = {}) {
  const tbody = body instanceof Element && body.tagName === "TBODY" ? body : h("tbody", {}, body);
  const el = h("table", Object.assign({}, props, {class: ["table", props && props.class].filter(Boolean).join(" ")}),
    h("thead", {}, h("tr", {}, heads.map(x => Array.isArray(x) ? h("th", x[1], x[0]) : h("th", {}, x)))),
    tbody);
  if (opts.wrap === false) return el;
  return h("div", {class: opts.card === false ? "table-wrap" : "table-wrap card"}, el);
}
