"use strict";
// Every string below came from a model or a program: it is only ever placed with textContent,
// never parsed as HTML.
(function () {
  var data = JSON.parse(document.getElementById("turn-data").textContent);
  var detail = document.getElementById("detail");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function scalar(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(4);
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function table(rows) {
    var keys = [];
    rows.forEach(function (r) { Object.keys(r).forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k); }); });
    var t = el("table", "items"), head = el("tr");
    keys.forEach(function (k) { add(head, el("th", null, k)); });
    add(t, head);
    rows.forEach(function (r) {
      var tr = el("tr");
      keys.forEach(function (k) {
        var v = r[k], td = el("td");
        add(td, typeof v === "string" && v.indexOf("\n") >= 0 ? el("pre", null, v) : document.createTextNode(scalar(v)));
        add(tr, td);
      });
      add(t, tr);
    });
    return t;
  }

  function isRecord(x) { return x && typeof x === "object" && !Array.isArray(x); }

  // Scalars and short lists on one line each; lists of records (failures, diagnostics with line
  // numbers, counterexamples, I/O cases) as tables; multi-line text as a block.
  function details(obj) {
    var box = el("div", "details"), inline = el("dl", "kv");
    Object.keys(obj || {}).forEach(function (key) {
      var v = obj[key];
      if (Array.isArray(v) && v.length && v.every(isRecord)) {
        add(box, el("div", "meta", key), table(v));
      } else if ((typeof v === "string" && v.indexOf("\n") >= 0) || isRecord(v)) {
        add(box, el("div", "meta", key), el("pre", null, typeof v === "string" ? v : JSON.stringify(v, null, 2)));
      } else {
        var text = Array.isArray(v) ? (v.length ? v.map(scalar).join(", ") : "none") : scalar(v);
        add(inline, el("dt", null, key), el("dd", null, text));
      }
    });
    if (inline.childNodes.length) box.insertBefore(inline, box.firstChild);
    return box;
  }

  function feedback(fb) {
    var box = el("div", "fb " + (fb.passed ? "passed" : "failed"));
    add(box, el("span", "verdict", fb.kind + ": " + (fb.passed ? "passed" : "FAILED")),
      el("span", "meta", "  score " + scalar(fb.score) + " · weight " + scalar(fb.weight) +
        (fb.advisory ? " · advisory (never counted)" : "") + " · " + scalar(fb.duration_s) + " s"),
      el("pre", "summary", fb.summary));
    if (fb.details && Object.keys(fb.details).length) add(box, details(fb.details));
    return box;
  }

  function diff(d) {
    var pre = el("pre", "diff");
    if (!d.lines.length) add(pre, el("span", "hunk", "(identical to " + d.from + ")"));
    d.lines.forEach(function (line) {
      var cls = line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : null;
      add(pre, el("span", cls, line + "\n"));
    });
    return pre;
  }

  // evolve: a child's first parent is the program it edits, the others were shown as inspirations
  function lineage(t) {
    var evo = data.evolve;
    if (!evo || !(t.id in evo.born)) return "derived from " + (t.parents.length ? t.parents.join(", ") : "nothing (a root)");
    return "bred on island " + evo.born[t.id] + " · " + (t.parents.length ? "parent " + t.parents[0] +
      (t.parents.length > 1 ? " · inspirations " + t.parents.slice(1).join(", ") : " · no inspirations") : "a seed");
  }

  function show(id) {
    var t = data.turns[id];
    if (!t) return;
    document.querySelectorAll(".node.selected, .elite.selected").forEach(function (n) { n.classList.remove("selected"); });
    document.querySelectorAll('.node[data-turn="' + CSS.escape(id) + '"], .elite[data-turn="' + CSS.escape(id) + '"]')
      .forEach(function (n) { n.classList.add("selected"); });
    detail.replaceChildren();
    add(detail, el("h2", null, t.id + " · " + t.role + (t.score === null ? "" : " · score " + scalar(t.score))),
      el("p", "meta lineage", "model " + t.model + " · " + lineage(t)),
      el("p", "meta usage", "tokens " + t.usage.prompt + " prompt + " + t.usage.completion + " completion" +
        (t.usage.cached ? " (" + t.usage.cached + " cached)" : "") +
        (t.usage.cost_usd === null ? "" : " · $" + t.usage.cost_usd) + " · " + scalar(t.seconds) + " s"));
    if (t.confidence) {
      var c = t.confidence;
      add(detail, el("p", "meta confidence", "confidence: mean logprob " + scalar(c.mean_logprob) +
        " · lowest group " + scalar(c.lowest_group) + " (window " + c.window + ")" +
        " · self-certainty " + scalar(c.self_certainty) + " · " + c.tokens + " tokens"));
    }
    if (t.feedback.length) {
      var fbs = el("section", "feedback");
      add(fbs, el("h3", null, "feedback"));
      t.feedback.forEach(function (fb) { add(fbs, feedback(fb)); });
      add(detail, fbs);
    }
    if (t.diff) add(detail, el("h3", null, "diff against " + t.diff.from), diff(t.diff));
    add(detail, el("h3", null, "output"), el("pre", "output", t.output));
    if (t.messages.length) {
      var msgs = el("details", "messages");
      msgs.open = true;
      add(msgs, el("summary", null, "prompt (" + t.messages.length + " messages)"));
      t.messages.forEach(function (m) { add(msgs, add(el("div", "message"), el("div", "role", m.role), el("pre", null, m.content))); });
      add(detail, msgs);
    }
  }

  document.querySelectorAll(".node, .elite").forEach(function (node) {
    node.addEventListener("click", function () { show(node.dataset.turn); });
    node.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); show(node.dataset.turn); }
    });
  });
  var wanted = decodeURIComponent(location.hash.slice(1));
  if (data.turns[wanted]) show(wanted);
})();
