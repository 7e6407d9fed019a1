// Canopy kiosk page. Plain JavaScript, no build step, nothing from the internet.
// The kiosk pushes the whole screen as JSON (Server-Sent Events "state") and the
// live scale reading ("weight"); touches go back as POST /api/act. The page keeps
// no state of its own except a PIN being typed and the sim panel's inputs.
"use strict";

let state = null;
let weight = null;
let clockOffset = 0; // kiosk clock minus page clock (the same machine; guards a restart)
let pin = "";
let simKey = "";
// For the benchmark and the tests: when each answer reached the screen.
window.canopyShown = {};

// --- tiny DOM builder: text is always text, never HTML ---------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "onclick") el.addEventListener("click", v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// This boot's page secret, put in the page by the kiosk when it served it: the
// kiosk answers API calls only with it (kiosk_ui/_server.py).
const PAGE_TOKEN = (document.querySelector('meta[name="canopy-page"]') || {}).content || "";

// Requests not yet answered. A tap's effect on the kiosk is done once its answer
// is back; tests wait for zero before scanning, as a worker waits for the screen.
window.canopyInFlight = 0;

async function post(url, body) {
  window.canopyInFlight += 1;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Canopy-Page": PAGE_TOKEN },
      body: JSON.stringify(body),
    });
    return await response.json();
  } catch (err) {
    return { ok: false, message: "The kiosk program did not answer." };
  } finally {
    window.canopyInFlight -= 1;
  }
}
const act = (body) => post("/api/act", body);
const sim = (body) => post("/api/sim", body);

function button(label, body, opts = {}) {
  return h("button", {
    class: opts.class, disabled: opts.disabled, "data-act": body ? body.action : null,
    "data-testid": opts.testid,
    onclick: opts.onclick || (() => act(body)),
  }, label);
}
const choice = (label, body, chosen, testid) => button(label, body, { class: chosen ? "chosen" : null, testid });

// --- time -------------------------------------------------------------------------
const now = () => Date.now() + clockOffset;
function age(ms) {
  if (ms === null || ms === undefined) return "";
  const s = Math.max(0, (now() - ms) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400 * 2) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} days`;
}
const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

// --- status bar and faults ---------------------------------------------------------
function renderStatus() {
  const st = state.status || {};
  const bar = document.getElementById("status");
  const items = [];
  // Deadlines the floor must see coming (domain.md 2.6): records reach the state within
  // 24 h (CA DCC), and an outage over 72 h must be reported to the state.
  const HOUR = 3600e3;
  const offlineFor = st.offline_since_ms ? now() - st.offline_since_ms : 0;
  let online = "Online";
  if (!st.online) {
    online = offlineFor > 72 * HOUR ? `OFFLINE ${age(st.offline_since_ms)}: report the outage to the state`
      : offlineFor > 60e3 ? `OFFLINE ${age(st.offline_since_ms)}: saving here` : "OFFLINE: saving here";
  }
  items.push(h("span", { class: `pill ${st.online ? "good" : "bad"}`, "data-testid": "online" }, online));
  const waiting = st.backlog || 0;
  const unsentFor = waiting ? now() - st.oldest_unsent_ms : 0;
  items.push(h("span", { class: `pill ${unsentFor > 20 * HOUR ? "bad" : unsentFor > HOUR ? "warn" : ""}`,
    "data-testid": "backlog" },
    !waiting ? "All sent" : unsentFor > 20 * HOUR ? `Unsent: ${waiting} for ${age(st.oldest_unsent_ms)}: 24 h deadline`
      : `Unsent: ${waiting}, oldest ${age(st.oldest_unsent_ms)}`));
  // The state system (Metrc, BioTrack) as the bridge's outage record has it: sent is not yet reported.
  const sys = st.state_system;
  if (sys) items.push(h("span", { class: `pill ${sys.reachable ? "good" : "bad"}`, "data-testid": "state-system" }, sys.pill));
  if (st.rejected) items.push(h("span", { class: "pill bad", "data-testid": "rejected" }, `To fix: ${st.rejected}`));
  if (st.printer) {
    items.push(h("span", { class: `pill ${st.printer.ready ? "good" : "warn"}`, "data-testid": "printer" },
      `Printer: ${st.printer.message}`));
  }
  if (st.scale) {
    const ok = st.scale.connected && !st.scale.refusal;
    items.push(h("span", { class: `pill ${ok ? "good" : "warn"}`, "data-testid": "scale", title: st.scale.id },
      `Scale: ${st.scale.connected ? (st.scale.refusal ? (st.scale.check_due ? "check due" : "not registered") : "ready") : st.scale.message}`));
  }
  const ref = st.ref;
  if (ref) {
    const missing = ref.missing || [];
    const text = ref.oldest_at_ms ? `Lists: from ${age(ref.oldest_at_ms)}${age(ref.oldest_at_ms) === "just now" ? "" : " ago"}`
      : "Lists: never synced";
    items.push(h("span", { class: `pill ${missing.length || !ref.oldest_at_ms ? "warn" : ""}`, "data-testid": "ref",
      title: missing.length ? `missing: ${missing.join(", ")}` : "" }, text));
  }
  items.push(h("span", { class: "spacer" }));
  if (state.worker) {
    items.push(h("span", { class: "pill", "data-testid": "worker" }, state.worker.name));
    if (!state.headless) items.push(button("Sign out", { action: "signout" }, { testid: "signout" }));
  }
  if (state.worker === null) items.push(h("span", { class: "pill" }, "Nobody signed in"));
  bar.replaceChildren(...items);
  const band = document.getElementById("stateband");
  band.hidden = !(sys && sys.band);
  band.className = sys && sys.notify ? "notify" : "";
  band.textContent = (sys && sys.band) || "";
  const faults = st.faults || [];
  // Sign-in alerts (wrong PINs, unknown badges) reach supervisors only: the agent
  // sends them only while a supervisor is signed in, and checks the role on dismiss.
  const alerts = (state.alerts || []).map((a) => h("div", { "data-testid": "signin-alert" }, `⚠ Sign-in: ${a}`));
  if (alerts.length) alerts.push(button("Dismiss sign-in alerts", { action: "alerts.dismiss" }, { testid: "alerts-dismiss" }));
  document.getElementById("faults").replaceChildren(
    ...faults.map((f) => h("div", {}, `⚠ ${f}`)), ...alerts);
}

function renderFeedback() {
  const fb = state.feedback;
  const el = document.getElementById("feedback");
  if (!fb) {
    el.className = "";
    el.replaceChildren(h("div", {}, state.worker ? "Ready." : "Sign in to start."));
    return;
  }
  el.className = fb.quiet ? "quiet" : (fb.ok ? "ok" : "bad");
  el.setAttribute("data-seq", fb.seq);
  el.replaceChildren(...[h("div", { "data-testid": "message" }, fb.message),
    fb.detail ? h("div", { class: "detail", "data-testid": "detail" }, fb.detail) : null].filter(Boolean));
  if (!(fb.seq in window.canopyShown)) {
    // Stamped at the next frame: the moment the new band is drawn, not just built.
    const seq = fb.seq;
    window.canopyShown[seq] = null;
    requestAnimationFrame(() => {
      window.canopyShown[seq] = { shown: performance.timeOrigin + performance.now(), scan: fb.scan_ms };
    });
  }
}

// --- the live weight ------------------------------------------------------------------
function weightBlock() {
  return h("div", { class: "weight", "data-weight": "1", "data-testid": "weight" });
}
function renderWeight() {
  const w = weight || (state && state.weight);
  for (const el of document.querySelectorAll("[data-weight]")) {
    if (!w) { el.textContent = "—"; continue; }
    let text;
    if (!w.connected) text = w.fault || "scale not connected";
    else if (w.state === "overload") text = "OVERLOAD";
    else if (w.state === "underload") text = "below zero";
    else if (w.state === "error") text = "scale error";
    else if (w.value === null) text = "…";
    else text = `${w.value} ${w.unit}${w.state === "unstable" ? " ~" : ""}`;
    el.textContent = text;
    el.className = "weight" + (w.state === "unstable" ? " unstable" : "") +
      (!w.connected || ["overload", "error"].includes(w.state) ? " fault" : "");
  }
}

function scaleBlocked() {
  const w = weight || state.weight;
  return w && w.refusal ? h("div", { class: "card bad", "data-testid": "scale-blocked" },
    `Weighing blocked: ${w.refusal}`,
    w.check_due ? button("Check the scale", { action: "go", screen: "scalecheck" }, { testid: "scale-check" }) : null) : null;
}

// --- screens ---------------------------------------------------------------------------
const screens = {
  signin() {
    const s = state.signin || { workers: [] };
    const second = state.second;
    const prefix = second ? "second" : "signin";
    const who = second && second.purpose === "supervisor" ? "Supervisor" : "Witness";
    const out = [h("h1", {}, second ? `${who} signs in` : "Sign in")];
    if (s.error) out.push(h("div", { class: "card bad" }, s.error));
    if (!s.picked) {
      out.push(h("p", { class: "big" }, second
        ? "A second person: scan your badge, or tap your name."
        : "Scan your badge, or tap your name."));
      out.push(h("div", { class: "grid", "data-testid": "workers" },
        s.workers.filter((w) => !state.worker || w.id !== state.worker.id)
          .map((w) => button(w.name, { action: `${prefix}.pick`, id: w.id }))));
    } else {
      const pad = h("div", { class: "pin", "data-testid": "pin-pad" });
      for (const d of ["1", "2", "3", "4", "5", "6", "7", "8", "9"]) pad.append(digit(d));
      pad.append(button("⌫", null, { onclick: () => { pin = pin.slice(0, -1); render(); } }));
      pad.append(digit("0"));
      pad.append(button("OK", null, {
        class: "primary", testid: "pin-ok",
        onclick: () => { const p = pin; pin = ""; render(); act({ action: `${prefix}.pin`, pin: p }); },
      }));
      out.push(h("div", { class: "pinbox" }, pad, h("div", {},
        h("p", { class: "big" }, `${s.picked.name}: enter your PIN.`),
        h("div", { class: "dots", "data-testid": "pin-dots" }, "●".repeat(pin.length) || " "),
        button(second ? "Cancel" : "Back", { action: second ? "second.cancel" : "signin.back" }))));
    }
    if (s.message && !second) out.push(h("p", { class: "big" }, s.message));
    if (second && !s.picked) out.push(h("div", { class: "row" }, button("Cancel", { action: "second.cancel" })));
    return out;
  },

  home() {
    const f = state.flow;
    const out = [h("h1", {}, state.headless ? "Scan a plant tag" : `Hello, ${state.worker.name}`)];
    out.push(h("div", { class: "grid tiles" },
      state.tiles.map((t) => button(t.title, { action: "go", screen: t.screen }, { testid: `tile-${t.screen}` }))));
    if (f.last_seen) {
      const p = f.last_seen;
      out.push(h("div", { class: "card" }, h("b", {}, "Last plant: "), h("span", { class: "tag" }, p.tag),
        p.location ? ` — ${p.strain || "strain ?"}, ${p.phase}, in ${p.location}` : ""));
    }
    return out;
  },

  move() {
    const f = state.flow;
    return [
      h("h1", {}, "Move plants"),
      h("div", { class: `step ${f.room ? "done" : ""}`, "data-testid": "step" },
        f.room ? `Moving plants to ${f.room}. Scan each plant.` : "Scan the room's barcode first, then the plants."),
      h("div", { class: "counter", "data-testid": "count" }, String(f.count), h("small", {}, " moved")),
      h("ul", { class: "list" }, f.moved.map((m) =>
        h("li", {}, h("span", { class: "tag" }, m.tag), `  from ${m.from || "?"}${m.phase === "Flowering" ? " (flowering)" : ""}`))),
      h("div", { class: "row" }, button("Done", { action: "go", screen: "home" })),
    ];
  },

  harvest() {
    const f = state.flow;
    const manicure = f.mode === "manicure";
    const out = [h("h1", {}, manicure ? "Manicure: weigh what is taken from each plant" : "Harvest: weigh each plant")];
    if (f.step === "batch") {
      out.push(h("h2", {}, "What is weighed"));
      out.push(h("div", { class: "row" }, f.modes.map((m) => choice(m.title, { action: "mode", mode: m.mode }, m.mode === f.mode, `mode-${m.mode}`))));
      out.push(h("h2", {}, "Harvest batch"));
      out.push(h("div", { class: "row" },
        f.harvests.map((n) => choice(n, { action: "batch", name: n }, n === f.harvest)),
        button(f.new_batch ? `New: ${f.harvest}` : "New batch", { action: "new_batch" },
          { class: f.new_batch ? "chosen" : null, testid: "new-batch" })));
      out.push(h("h2", {}, "Drying room"));
      out.push(h("div", { class: "row" }, f.drying_rooms.map((n) => choice(n, { action: "drying", name: n }, n === f.drying))));
      out.push(h("div", { class: "row" }, button("Start weighing", { action: "start" },
        { class: "primary", disabled: !(f.harvest && f.drying), testid: "start" })));
      out.push(h("h2", {}, "Other harvest work"));
      out.push(h("div", { class: "row" },
        button("Harvest waste", { action: "go", screen: "harvest_waste" }, { testid: "go-harvest_waste" }),
        button("Cure: dry weight", { action: "go", screen: "cure" }, { testid: "go-cure" }),
        button("Done", { action: "go", screen: "home" })));
      return out;
    }
    out.push(scaleBlocked());
    const left = [
      h("div", { class: `step ${f.current ? "done" : ""}`, "data-testid": "step" },
        f.current ? `Plant ${f.current}: put it on the scale.` : "Scan the next plant's tag."),
      weightBlock(),
    ];
    if (f.pending) left.push(h("div", { class: "row" }, button(`Save ${f.pending}`, { action: "confirm" }, { class: "primary", testid: "confirm" })));
    left.push(h("div", { class: "row" }, f.current ? button("Skip this plant", { action: "skip" }) : null,
      button("Change batch", { action: "change_batch" }), button("Done", { action: "go", screen: "home" })));
    const right = [
      h("div", { class: "counter", "data-testid": "count" }, String(f.count), h("small", {}, " plants weighed")),
      h("div", { class: "big", "data-testid": "total" }, f.totals.length ? `Total ${f.totals.join(" + ")} wet` : "Total —"),
      h("p", { class: "muted" }, `${manicure ? "Manicure into" : "Batch"} ${f.harvest}, drying in ${f.drying}`),
      f.flagged.length ? h("ul", { class: "list", "data-testid": "flagged" },
        f.flagged.map((x) => h("li", { class: "flag" }, `⚑ ${x.tag} weighed twice (first: ${x.weight})`))) : null,
      h("ul", { class: "list", "data-testid": "weighed" },
        f.weighed.slice(0, 6).map((x) => h("li", {}, h("span", { class: "tag" }, x.tag), `  ${x.weight}`))),
    ];
    out.push(h("div", { class: "cols" }, h("div", {}, left), h("div", {}, right)));
    return out;
  },

  destroy() {
    const f = state.flow;
    const out = [h("h1", {}, "Destroy / waste")];
    out.push(h("div", { class: `step ${f.subject ? "done" : ""}`, "data-testid": "step" },
      f.subject ? `Destroy ${f.subject}` : "Scan the plant's tag or the lot's label."));
    if (f.lot) {
      out.push(h("h2", {}, `How many plants (of ${f.lot.max})`));
      out.push(stepper(f.count, 1, f.lot.max, (n) => ({ action: "count", count: n })));
    }
    if (f.subject) {
      // What it was on the left, the evidence (weight, witness) and Save on the right.
      const what = [h("h2", {}, "Reason"), h("div", { class: "row", "data-testid": "reasons" },
        f.reasons.length ? f.reasons.map((r) => choice(r, { action: "reason", name: r }, r === f.reason))
          : h("span", { class: "muted" }, "No list of reasons on this kiosk yet."))];
      if (f.notes.length) {
        what.push(h("h2", {}, "Note"),
          h("div", { class: "row" }, f.notes.map((n) => choice(n, { action: "note", note: n }, n === f.note))));
      }
      what.push(h("h2", {}, "Method"), h("div", { class: "row", "data-testid": "methods" },
        f.methods.length ? f.methods.map((m) => choice(m, { action: "method", name: m }, m === f.method))
          : h("span", { class: "muted" }, "The state has no list of methods.")));
      what.push(h("h2", {}, "Mixed with"), h("div", { class: "row" },
        choice("Nothing", { action: "material", name: "" }, !f.material),
        f.materials.map((m) => choice(m, { action: "material", name: m }, m === f.material))));
      const proof = [h("h2", {}, "Waste weight (from the scale)"), scaleBlocked(), weightBlock(),
        h("div", { class: "big", "data-testid": "waste-weight" }, f.weight ? `Taken: ${f.weight}` : "Put the waste on the scale.")];
      if (f.witness_required) {
        proof.push(h("h2", {}, "Witness"), f.witness
          ? h("div", { class: "big", "data-testid": "witness" }, `Witness: ${f.witness}`)
          : button("Witness signs in", { action: "second.start" }, { testid: "witness-start" }));
      }
      if (f.missing.length) proof.push(h("p", { class: "muted", "data-testid": "missing" }, `To do: ${f.missing.join(", ")}.`));
      proof.push(h("div", { class: "row" },
        button("Save", { action: "save" }, { class: "danger", disabled: f.missing.length > 0, testid: "save" }),
        button("Cancel", { action: "cancel" })));
      out.push(h("div", { class: "cols" }, h("div", {}, what), h("div", {}, proof)));
    }
    if (f.saved.length) {
      out.push(h("h2", {}, "Saved"));
      out.push(h("ul", { class: "list" }, f.saved.map((s) =>
        h("li", {}, `${s.subject}: ${s.reason}, ${s.weight}${s.witness ? `, witness ${s.witness}` : ""}`))));
    }
    out.push(h("div", { class: "row" }, button("Done", { action: "go", screen: "home" })));
    return out;
  },

  tag() {
    const f = state.flow;
    const out = [h("h1", {}, "Tag plants for flowering")];
    let step = "Scan the immature lot's label, or tap the lot.";
    if (f.lot && !f.room) step = `Lot ${f.lot.name} (${f.lot.strain}): scan the flowering room's barcode.`;
    if (f.lot && f.room) step = `Lot ${f.lot.name} into ${f.room}: scan a new plant tag for each plant.`;
    out.push(h("div", { class: `step ${f.lot && f.room ? "done" : ""}`, "data-testid": "step" }, step));
    if (!f.lot) {
      out.push(h("div", { class: "grid" }, f.lots.map((l) =>
        button(`${l.name} — ${l.count} ${l.strain}`, { action: "lot", name: l.name }))));
    } else {
      out.push(h("div", { class: "counter", "data-testid": "count" }, `${f.scanned} / ${f.expected}`, h("small", {}, " tagged")));
      out.push(h("progress", { max: String(Math.max(1, f.expected)), value: String(f.scanned) }));
      out.push(h("ul", { class: "list" }, f.tagged.map((t) => h("li", { class: "tag" }, t))));
    }
    out.push(h("div", { class: "row" }, button("Done", { action: "go", screen: "home" })));
    return out;
  },

  lot() {
    const f = state.flow;
    const out = [h("h1", {}, "New immature lot")];
    if (f.created) {
      out.push(h("div", { class: "card", "data-testid": "created" }, `Lot ${f.created} saved: ${f.count} ${f.strain} plants in ${f.room}.`));
      out.push(h("div", { class: "row" },
        button(`Print ${f.count} lot labels`, { action: "print" }, { class: "primary", testid: "print" }),
        button("Another lot", { action: "new" }), button("Done", { action: "go", screen: "home" })));
      if (f.printed) out.push(h("p", { class: "big" }, `${f.printed} labels printed.`));
      return out;
    }
    if (f.needs_source) {
      out.push(h("div", { class: `step ${f.has_source ? "done" : ""}`, "data-testid": "source" }, f.source_words));
    }
    out.push(h("h2", {}, "Strain"));
    out.push(h("div", { class: "row" }, f.strains.length || !f.strain
      ? f.strains.map((s) => choice(s, { action: "strain", name: s }, s === f.strain))
      : h("span", { class: "big" }, f.strain)));
    out.push(h("h2", {}, "From"));
    out.push(h("div", { class: "row" }, ["Clone", "Seed"].map((t) => choice(`${t}s`, { action: "type", type: t }, t === f.type))));
    out.push(h("h2", {}, `How many plants (at most ${f.limit})`));
    out.push(stepper(f.count, 1, f.limit, (n) => ({ action: "count", count: n }), true));
    out.push(h("h2", {}, "Room"));
    out.push(h("div", { class: "row" }, f.rooms.map((r) => choice(r, { action: "room", name: r }, r === f.room))));
    out.push(h("h2", {}, "Lot name"));
    out.push(h("div", { class: "row" }, f.name ? h("span", { class: "big tag", "data-testid": "lot-name" }, f.name)
      : h("span", { class: "muted" }, "Scan an unused plant tag, or"),
      button("Suggest a name", { action: "suggest" })));
    out.push(h("div", { class: "row" }, button("Save lot", { action: "create" },
      { class: "primary", disabled: !(f.strain && f.room && f.name && (f.has_source || !f.needs_source)), testid: "create" }),
      button("Cancel", { action: "go", screen: "home" })));
    return out;
  },

  menu() {
    const f = state.flow;
    return [h("h1", {}, state.title),
      h("div", { class: "grid tiles" }, f.choices.map((c) => button(c.title, { action: "go", screen: c.screen }, { testid: `tile-${c.screen}` }))),
      h("div", { class: "row" }, button("Done", { action: "go", screen: "home" }))];
  },

  harvest_waste() {
    const f = state.flow;
    const out = [h("h1", {}, "Harvest waste")];
    out.push(h("div", { class: `step ${f.harvest ? "done" : ""}`, "data-testid": "step" },
      f.harvest ? `Waste from ${f.harvest}` : "Scan the harvest batch's label, or tap the batch."));
    out.push(h("div", { class: "row", "data-testid": "harvests" },
      f.harvests.map((n) => choice(n, { action: "batch", name: n }, n === f.harvest))));
    if (f.harvest) {
      const what = [h("h2", {}, "Waste type"), h("div", { class: "row", "data-testid": "types" },
        f.types_known ? f.types.map((t) => choice(t, { action: "type", name: t }, t === f.type))
          : h("span", { class: "card bad" }, "The state's harvest waste types never reached this kiosk: they cannot be checked offline."))];
      const proof = [h("h2", {}, "Waste weight (from the scale)"), scaleBlocked(), weightBlock(),
        h("div", { class: "big", "data-testid": "waste-weight" }, f.weight ? `Taken: ${f.weight}` : "Put the waste on the scale.")];
      proof.push(...witnessBlock(f));
      if (f.missing.length) proof.push(h("p", { class: "muted", "data-testid": "missing" }, `To do: ${f.missing.join(", ")}.`));
      proof.push(h("div", { class: "row" },
        button("Save", { action: "save" }, { class: "primary", disabled: f.missing.length > 0, testid: "save" }),
        button("Cancel", { action: "cancel" })));
      out.push(h("div", { class: "cols" }, h("div", {}, what), h("div", {}, proof)));
    }
    out.push(savedList(f.saved, (s) => `${s.harvest}: ${s.weight} ${s.type}${s.witness ? `, witness ${s.witness}` : ""}`));
    out.push(h("div", { class: "row" }, button("Done", { action: "go", screen: "harvest" })));
    return out;
  },

  cure() {
    const f = state.flow;
    const out = [h("h1", {}, "Cure: dry weight of each plant")];
    out.push(h("h2", {}, "Cured flower goes to"));
    out.push(h("div", { class: "row", "data-testid": "rooms" }, f.rooms.map((r) => choice(r, { action: "room", name: r }, r === f.room))));
    if (!f.room) return out.concat(h("div", { class: "row" }, button("Done", { action: "go", screen: "harvest" })));
    out.push(scaleBlocked());
    const left = [
      h("div", { class: `step ${f.current ? "done" : ""}`, "data-testid": "step" },
        f.current ? `Plant ${f.current}: put its dry flower on the scale.` : "Scan a harvested plant's tag."),
      weightBlock(),
    ];
    if (f.pending) left.push(h("div", { class: "row" }, button(`Save ${f.pending}`, { action: "confirm" }, { class: "primary", testid: "confirm" })));
    left.push(h("div", { class: "row" }, f.current ? button("Skip this plant", { action: "skip" }) : null,
      button("Done", { action: "go", screen: "harvest" })));
    const right = [
      h("div", { class: "counter", "data-testid": "count" }, String(f.count), h("small", {}, " plants cured")),
      f.flagged.length ? h("ul", { class: "list", "data-testid": "flagged" },
        f.flagged.map((x) => h("li", { class: "flag" }, `⚑ ${x.tag} cured twice (first: ${x.weight} dry)`))) : null,
      h("ul", { class: "list", "data-testid": "cured" },
        f.cured.slice(0, 6).map((x) => h("li", {}, h("span", { class: "tag" }, x.tag), `  ${x.weight} dry`))),
    ];
    out.push(h("div", { class: "cols" }, h("div", {}, left), h("div", {}, right)));
    return out;
  },

  package_move() {
    const f = state.flow;
    return [
      h("h1", {}, "Move packages"),
      h("div", { class: `step ${f.room ? "done" : ""}`, "data-testid": "step" },
        f.room ? `Moving packages to ${f.room}. Scan each package.` : "Scan the room's barcode first, then the packages."),
      h("div", { class: "counter", "data-testid": "count" }, String(f.count), h("small", {}, " moved")),
      h("ul", { class: "list", "data-testid": "moved" }, f.moved.map((m) => h("li", { class: "tag" }, m.tag))),
      h("p", { class: "muted" }, f.unchecked),
      h("div", { class: "row" }, button("Done", { action: "go", screen: "packages" })),
    ];
  },

  package_adjust() {
    const f = state.flow;
    const out = [h("h1", {}, "Adjust a package")];
    out.push(h("div", { class: `step ${f.tag ? "done" : ""}`, "data-testid": "step" },
      f.tag ? `Package ${f.tag}: its weight on the scale is the new total.` : "Scan the package's tag."));
    if (f.tag) {
      const what = [h("h2", {}, "Reason"), h("div", { class: "row", "data-testid": "reasons" },
        f.reasons_known ? f.reasons.map((r) => choice(r, { action: "reason", name: r }, r === f.reason))
          : h("span", { class: "card bad" }, "The state's adjustment reasons never reached this kiosk: they cannot be checked offline."))];
      if (f.notes.length) {
        what.push(h("h2", {}, "Note"),
          h("div", { class: "row", "data-testid": "notes" }, f.notes.map((n) => choice(n, { action: "note", note: n }, n === f.note))));
      }
      const proof = [h("h2", {}, "New total (from the scale)"), scaleBlocked(), weightBlock(),
        h("div", { class: "big", "data-testid": "new-total" }, f.weight ? `Taken: ${f.weight}` : "Put the package on the scale.")];
      if (f.missing.length) proof.push(h("p", { class: "muted", "data-testid": "missing" }, `To do: ${f.missing.join(", ")}.`));
      proof.push(h("div", { class: "row" },
        button("Confirm", { action: "save" }, { class: "primary", disabled: f.missing.length > 0, testid: "save" }),
        button("Cancel", { action: "cancel" })));
      out.push(h("div", { class: "cols" }, h("div", {}, what), h("div", {}, proof)));
    }
    out.push(savedList(f.saved, (s) => `${s.tag}: now ${s.weight} (${s.reason})`));
    out.push(h("p", { class: "muted" }, f.unchecked));
    out.push(h("div", { class: "row" }, button("Done", { action: "go", screen: "packages" })));
    return out;
  },

  labels() {
    const f = state.flow;
    const out = [h("h1", {}, "Print labels")];
    out.push(h("div", { class: "row" }, f.kinds.map((k) => choice(k[0].toUpperCase() + k.slice(1), { action: "kind", kind: k }, k === f.kind, `kind-${k}`))));
    if (f.kind) {
      out.push(h("p", { class: "big" }, f.kind === "plant" ? "Scan the plant's tag." : "Tap one, or scan its label."));
      if (f.choices.length) out.push(h("div", { class: "row" }, f.choices.map((c) => choice(c, { action: "pick", uid: c }, c === f.uid))));
    }
    if (f.error) out.push(h("div", { class: "card bad" }, f.error));
    if (f.uid) {
      out.push(h("h2", {}, `Preview: ${f.uid}`));
      out.push(h("img", { class: "preview", src: `/api/preview.png?v=${f.preview}`, alt: `label ${f.uid}`, "data-testid": "preview" }));
      out.push(h("h2", {}, "Copies"));
      out.push(stepper(f.copies, 1, 100, (n) => ({ action: "copies", copies: n })));
      out.push(h("div", { class: "row" }, button(f.reprint ? "Reprint" : "Print", { action: "print" },
        { class: "primary", testid: "print" })));
    }
    out.push(h("div", { class: "row" }, button("Done", { action: "go", screen: "home" })));
    return out;
  },

  count() {
    const f = state.flow;
    const out = [h("h1", {}, "Room count")];
    out.push(h("div", { class: `step ${f.room ? "done" : ""}`, "data-testid": "step" },
      f.room ? `Counting ${f.room}: scan every tag in the room.` : "Scan the room's barcode."));
    if (f.room) {
      out.push(h("div", { class: "counter", "data-testid": "count" }, `${f.found} / ${f.expected}`, h("small", {}, " found")));
      out.push(h("progress", { max: String(Math.max(1, f.expected)), value: String(f.found) }));
      out.push(h("div", { class: "cols" },
        h("div", {}, h("h2", {}, `Missing (${f.missing_count})`),
          h("ul", { class: "list", "data-testid": "missing" }, f.missing.map((t) => h("li", { class: "tag" }, t)))),
        h("div", {}, h("h2", {}, `Extra (${f.extra.length})`),
          h("ul", { class: "list", "data-testid": "extra" }, f.extra.map((t) => h("li", { class: "tag flag" }, t))))));
      if (f.result) {
        out.push(h("div", { class: "card", "data-testid": "result" }, `Count saved: ${f.result.missing} missing, ${f.result.extra} extra.`));
      } else {
        out.push(h("div", { class: "row" }, button("Finish count", { action: "finish" }, { class: "primary", testid: "finish" }),
          button("Cancel", { action: "cancel" })));
      }
    }
    out.push(h("div", { class: "row" }, button("Done", { action: "go", screen: "home" })));
    return out;
  },

  records() {
    const f = state.flow;
    const out = [h("h1", {}, "Records")];
    if (f.selected) {
      const r = f.selected;
      out.push(h("div", { class: `card ${r.state === "rejected" ? "bad" : ""}`, "data-testid": "selected" },
        h("div", { class: "big" }, r.summary), h("div", {}, stateChip(r), `${r.what}, ${clock(r.at_ms)}`),
        r.message ? h("div", {}, `State said: ${r.message}`) : null,
        r.to_fix ? h("div", { "data-testid": "next-step" }, f.next_step) : null));
      if (f.needs_supervisor || f.supervisor || (r.to_fix && !f.can_dismiss)) {
        out.push(h("h2", {}, "Supervisor sign-off"));
        out.push(f.supervisor ? h("div", { class: "big", "data-testid": "supervisor" }, `Supervisor: ${f.supervisor}`)
          : button("Supervisor signs in", { action: "second.start", purpose: "supervisor" }, { testid: "supervisor-start" }));
      }
      out.push(h("h2", {}, "Why is it wrong?"));
      out.push(h("div", { class: "row", "data-testid": "correct-reasons" },
        f.reasons.map((reason) => button(reason, { action: "correct", reason },
          { class: "danger", disabled: f.needs_supervisor && !f.supervisor }))));
      if (r.to_fix) {
        out.push(h("h2", {}, "Or dismiss it (supervisor): nothing to redo because"));
        out.push(h("div", { class: "row", "data-testid": "dismiss-reasons" },
          f.dismissal_reasons.map((reason) => button(reason, { action: "dismiss", reason }, { disabled: !f.can_dismiss }))));
      }
      out.push(h("div", { class: "row" }, button("Back", { action: "back" })));
      return out;
    }
    const row = (r) => h("li", { "data-id": r.id, "data-state": r.state, onclick: () => act({ action: "select", id: r.id }) },
      stateChip(r), r.corrected_by ? h("span", { class: "chip corrected" }, r.fixed || "corrected") : null,
      h("span", { class: "muted" }, `${clock(r.at_ms)}  `), h("b", {}, r.what), `  ${r.summary}`,
      r.message ? h("div", { class: "flag" }, `State said: ${r.message}`) : null);
    // Every rejection stays here until corrected or dismissed, however many records follow.
    const toFix = f.to_fix || [];
    if (toFix.length) {
      out.push(h("h2", {}, `To fix: rejected by the state (${f.to_fix_total || toFix.length})`));
      out.push(h("p", { class: "muted" }, f.next_step));
      out.push(h("ul", { class: "list records", "data-testid": "to-fix" }, toFix.map(row)));
      out.push(h("h2", {}, "Recent"));
    } else {
      out.push(h("p", { class: "muted" }, "Tap a record to correct it. Nothing is changed in place: a correction is a new record."));
    }
    out.push(h("ul", { class: "list records", "data-testid": "records" }, f.rows.map(row)));
    out.push(h("div", { class: "row" }, button("Done", { action: "go", screen: "home" })));
    return out;
  },
};

function witnessBlock(f) {
  if (!f.witness_required) return [];
  return [h("h2", {}, "Witness"), f.witness
    ? h("div", { class: "big", "data-testid": "witness" }, `Witness: ${f.witness}`)
    : button("Witness signs in", { action: "second.start" }, { testid: "witness-start" })];
}

function savedList(saved, line) {
  return saved.length ? [h("h2", {}, "Saved"), h("ul", { class: "list", "data-testid": "saved" }, saved.map((s) => h("li", {}, line(s))))] : null;
}
// Scale check, waste on hold, tag receipt (domain.md 2.6: scale legality, NM hold, tag receipt).
Object.assign(screens, {
  scalecheck() {
    const f = state.flow;
    const steps = {
      empty: "1. Take everything off the scale. Press Zero on the scale if it does not show 0.",
      weight: `2. Zero OK (${f.zero}). Place the ${f.test_weight} test weight.`,
      done: f.result && f.result.passed ? `Check passed: ${f.result.reading}. Take the test weight off.`
        : `Check FAILED${f.result ? `: ${f.result.why}` : ""} Call a supervisor.`,
    };
    const out = [h("h1", {}, `Scale check: ${f.scale}`),
      h("div", { class: `step ${f.step === "done" && f.result && f.result.passed ? "done" : ""}`, "data-testid": "step" }, steps[f.step]),
      weightBlock(), h("p", { class: "muted" }, `Test weight ${f.test_weight}, allowed ±${f.tolerance}.`)];
    if (f.blocked && f.step !== "done") out.push(h("div", { class: "card bad", "data-testid": "check-blocked" }, f.blocked));
    out.push(h("div", { class: "row" }, f.step === "done" ? button("Check again", { action: "restart" }) : null,
      button("Done", { action: "go", screen: "home" })));
    return out;
  },

  hold() {
    const f = state.flow;
    const out = [h("h1", {}, "Waste on hold"),
      h("div", { class: `step ${f.pending ? "done" : ""}`, "data-testid": "step" }, f.pending
        ? `Hold over for ${f.pending}: ${f.witness_required && !f.witness ? "the witness signs in" : "tap Complete"}.`
        : `Held ${f.hours} h after destruction. When a hold is over, scan the plant to complete its destruction.`)];
    out.push(...witnessBlock(f));
    if (f.pending) {
      out.push(h("div", { class: "row" }, button("Complete destruction", { action: "complete" },
        { class: "danger", disabled: f.witness_required && !f.witness, testid: "complete" }), button("Cancel", { action: "cancel" })));
    }
    out.push(h("ul", { class: "list", "data-testid": "holds" }, f.holds.map((x) => h("li", { "data-tag": x.tag },
      h("span", { class: "tag" }, x.tag), `  ${x.weight}, ${x.reason}: `,
      h("b", {}, x.ready ? "hold over" : `until ${x.until} (${x.left} left)`), "  ",
      button("Reprint label", { action: "print", tag: x.tag })))));
    if (!f.holds.length) out.push(h("p", { class: "muted" }, "No waste on hold."));
    if (f.completed.length) {
      out.push(h("h2", {}, "Completed"), h("ul", { class: "list" }, f.completed.map((c) =>
        h("li", {}, h("span", { class: "tag" }, c.tag), c.witness ? `  witness ${c.witness}` : ""))));
    }
    out.push(h("div", { class: "row" }, button("Done", { action: "go", screen: "home" })));
    return out;
  },

  receive() {
    const f = state.flow;
    const step = !f.first ? "Scan the FIRST tag of the new roll or box."
      : !f.last ? `First tag ${f.first}. Now scan the LAST tag.` : `${f.first} to ${f.last}: ${f.count} tags.`;
    const out = [h("h1", {}, "Receive tags"), h("div", { class: `step ${f.last ? "done" : ""}`, "data-testid": "step" }, step)];
    if (f.last) {
      out.push(h("div", { class: "counter", "data-testid": "count" }, String(f.count), h("small", {}, f.kind ? ` ${f.kind} tags` : " tags")));
      if (f.ask_kind) {
        out.push(h("h2", {}, "Which tags are these?"), h("div", { class: "grid" },
          choice("Plant tags", { action: "kind", kind: "plant" }, f.kind === "plant", "kind-plant"),
          choice("Package tags", { action: "kind", kind: "package" }, f.kind === "package", "kind-package")));
      }
    }
    if (f.first) {
      out.push(h("div", { class: "row" }, f.last ? button("Confirm", { action: "confirm" }, { class: "primary", disabled: !f.kind, testid: "confirm" }) : null,
        button("Start over", { action: "restart" })));
    }
    if (f.received.length) {
      out.push(h("h2", {}, "Received"), h("ul", { class: "list", "data-testid": "received" }, f.received.map((r) =>
        h("li", {}, `${r.count} ${r.kind} tags: `, h("span", { class: "tag" }, r.first), " to ", h("span", { class: "tag" }, r.last)))));
    }
    out.push(h("div", { class: "row" }, button("Done", { action: "go", screen: "home" })));
    return out;
  },
});

// New package from a harvest: batch, unused package tag, item and room, weight from the scale, label.
Object.assign(screens, {
  package_new() {
    const f = state.flow;
    const out = [h("h1", {}, "New package from a harvest")];
    const step = !f.harvest ? "Scan the harvest batch's label, or tap the batch."
      : !f.tag ? `Harvest ${f.harvest}: scan an unused package tag.`
      : `Package ${f.tag}: put it on the scale.`;
    out.push(h("div", { class: `step ${f.tag ? "done" : ""}`, "data-testid": "step" }, step));
    if (f.made) {
      out.push(h("div", { class: "card", "data-testid": "made" }, `Package ${f.made} saved.`,
        f.printed ? ` Label printed (${f.printed}).` : ""),
      h("img", { class: "preview", src: `/api/preview.png?v=${f.made}-${f.printed}`, alt: `label ${f.made}`, "data-testid": "preview" }),
      h("div", { class: "row" }, button(f.printed ? "Print again" : "Print its label", { action: "print" },
        { class: f.printed ? null : "primary", testid: "print" })));
    }
    out.push(h("h2", {}, "Harvest batch"), h("div", { class: "row", "data-testid": "harvests" },
      f.harvests.map((n) => choice(n, { action: "batch", name: n }, n === f.harvest))));
    if (f.tag) {
      const what = [h("h2", {}, "Item"), h("div", { class: "row", "data-testid": "items" },
        f.items_known ? f.items.map((n) => choice(n, { action: "item", name: n }, n === f.item))
          : h("span", { class: "card bad" }, "The state's items never reached this kiosk: a package cannot be made offline without them.")),
      h("h2", {}, "Room"), h("div", { class: "row", "data-testid": "rooms" },
        f.rooms.map((r) => choice(r, { action: "room", name: r }, r === f.room)))];
      const proof = [h("h2", {}, "Weight (from the scale)"), scaleBlocked(), weightBlock(),
        h("div", { class: "big", "data-testid": "package-weight" }, f.weight ? `Taken: ${f.weight}` : "Put the package on the scale.")];
      if (f.missing.length) proof.push(h("p", { class: "muted", "data-testid": "missing" }, `To do: ${f.missing.join(", ")}.`));
      proof.push(h("div", { class: "row" },
        button("Save package", { action: "save" }, { class: "primary", disabled: f.missing.length > 0, testid: "save" }),
        button("Cancel", { action: "cancel" })));
      out.push(h("div", { class: "cols" }, h("div", {}, what), h("div", {}, proof)));
    }
    out.push(savedList(f.saved, (s) => `${s.tag}: ${s.weight} ${s.item} from ${s.harvest}`));
    out.push(h("div", { class: "row" }, button("Done", { action: "go", screen: "packages" })));
    return out;
  },
});

function stateChip(r) {
  const words = { saved: "saved here", sent: "sent", accepted: "accepted by the state", kept: "kept at the facility",
    rejected: "REJECTED" };
  return h("span", { class: `chip ${r.state}` }, words[r.state] || r.state);
}

function digit(d) {
  return button(d, null, { onclick: () => { if (pin.length < 8) pin += d; render(); } });
}

function stepper(value, min, max, make, big = false) {
  const steps = big ? [-10, -1, 1, 10] : [-1, 1];
  const row = h("div", { class: "row", "data-testid": "stepper" });
  for (const s of steps.filter((x) => x < 0)) {
    row.append(button(String(s), make(Math.max(min, value + s)), { disabled: value <= min }));
  }
  row.append(h("span", { class: "counter", "data-testid": "stepper-value" }, String(value)));
  for (const s of steps.filter((x) => x > 0)) {
    row.append(button(`+${s}`, make(Math.min(max, value + s)), { disabled: value >= max }));
  }
  return row;
}

// --- the demo's simulator panel -------------------------------------------------------------
function renderSim() {
  const panel = document.getElementById("sim");
  const s = state.sim;
  if (!s) { panel.hidden = true; return; }
  panel.hidden = false;
  const key = JSON.stringify(s);
  if (key === simKey) return; // keep what is typed in the inputs
  simKey = key;
  const code = h("input", { id: "sim-code", placeholder: "barcode text", "data-testid": "sim-code" });
  const value = h("input", { id: "sim-value", value: "812.4", inputmode: "decimal", "data-testid": "sim-value" });
  const unit = h("select", { id: "sim-unit" }, ["g", "kg", "lb", "oz"].map((u) => h("option", { value: u }, u)));
  const say = (answer) => { document.getElementById("sim-said").textContent = answer.message || ""; };
  const out = [h("h2", {}, "Simulator (demo)")];
  if (s.scanner) {
    out.push(h("h2", {}, "Scanner"), code,
      button("Scan", null, { testid: "sim-scan", onclick: async () => say(await sim({ op: "scan", code: code.value })) }));
  }
  if (s.scale) {
    const w = (stable) => async () => say(await sim({ op: "weight", value: value.value, unit: unit.value, stable }));
    out.push(h("h2", {}, "Scale"), value, unit,
      h("div", { class: "row" },
        button("Put on (stable)", null, { testid: "sim-weight", onclick: w(true) }),
        button("Moving", null, { onclick: w(false) }),
        button("Empty", null, { onclick: async () => say(await sim({ op: "weight", value: "0", unit: unit.value, stable: true })) }),
        button("Overload", null, { onclick: async () => say(await sim({ op: "scale", condition: "overload" })) })));
  }
  if (s.pedal) out.push(h("h2", {}, "Foot pedal"), button("Press pedal", null, { onclick: async () => say(await sim({ op: "pedal" })) }));
  if (s.printer) {
    out.push(h("h2", {}, "Printer"), h("div", { class: "row" },
      button("Out of labels", null, { onclick: async () => say(await sim({ op: "printer", fault: "no media" })) }),
      button("Ready", null, { onclick: async () => say(await sim({ op: "printer", fault: null })) })));
    out.push(h("h2", {}, "Printed labels"));
    out.push(h("div", { "data-testid": "sim-printed" }, s.printed.map((name) =>
      h("img", { src: `/api/sim/printed/${encodeURIComponent(name)}`, alt: name, title: name }))));
  }
  if (s.scanner) {
    out.push(h("h2", {}, "Codes to scan"), h("div", { class: "codes" }, s.codes.map((c) =>
      button(c.label === c.code ? c.code : `${c.label}: ${c.code}`, null,
        { onclick: async () => say(await sim({ op: "scan", code: c.code })) }))));
  }
  out.push(h("p", { id: "sim-said", class: "muted" }));
  panel.replaceChildren(...out);
}

// --- putting it together --------------------------------------------------------------------
function render() {
  if (!state) return;
  // A second person signing in (witness) takes over the screen until done or cancelled.
  const screen = state.second ? "witness" : state.screen;
  document.body.dataset.screen = screen;
  renderStatus();
  renderFeedback();
  const draw = state.second ? screens.signin : (screens[screen] || screens.home);
  const main = document.getElementById("screen");
  const opened = main.dataset.screen !== screen;
  main.dataset.screen = screen;
  main.replaceChildren(...draw().flat(Infinity).filter(Boolean));
  if (opened) main.scrollTop = 0; // a new screen opens at its top, not at the last one's scroll
  renderWeight();
  renderSim();
}

function connect() {
  const events = new EventSource("/api/stream");
  events.addEventListener("state", (e) => {
    state = JSON.parse(e.data);
    clockOffset = state.now_ms - Date.now();
    if (!state.signin || !state.signin.picked) pin = "";
    render();
  });
  events.addEventListener("weight", (e) => { weight = JSON.parse(e.data); renderWeight(); });
  events.onopen = () => { document.getElementById("offline").hidden = true; };
  events.onerror = () => { document.getElementById("offline").hidden = false; };
}

connect();
setInterval(() => { if (state) renderStatus(); }, 5000); // ages move on between pushes
