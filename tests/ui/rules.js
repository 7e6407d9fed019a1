// The page-side half of tests/ui/rules.py: measures what the kiosk page shows now.
// Called with [targets, primary, statusText] selectors; returns CSS pixels, rgb contrast ratios.
([targets, primary, statusSel]) => {
  const visible = (el) => {
    if (el.closest('#sim') || el.closest('[hidden]')) return false;
    const r = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden';
  };
  const label = (el) => {
    const id = el.getAttribute('data-testid');
    const text = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    return `${el.tagName.toLowerCase()}${id ? '[' + id + ']' : ''} "${text}"`;
  };
  const box = (r) => ({ left: r.left, top: r.top, right: r.right, bottom: r.bottom });
  const main = document.getElementById('screen');
  const view = { left: 0, top: 0, right: innerWidth, bottom: innerHeight };

  // Sizes and gaps are taken in the flow of the page: a row that sticks to the bottom (the
  // step's primary action) floats over the content scrolling under it, on its own opaque band.
  const sticky = [...document.querySelectorAll('#app *')].filter((el) => getComputedStyle(el).position === 'sticky');
  for (const el of sticky) el.style.position = 'static';
  const tgt = [...document.querySelectorAll(targets)].filter(visible).map((el) => ({
    el, label: label(el), box: box(el.getBoundingClientRect()) }));
  const pairs = [];
  for (let i = 0; i < tgt.length; i++) for (let j = i + 1; j < tgt.length; j++) {
    const a = tgt[i], b = tgt[j];
    if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
    const dx = Math.max(b.box.left - a.box.right, a.box.left - b.box.right, 0);
    const dy = Math.max(b.box.top - a.box.bottom, a.box.top - b.box.bottom, 0);
    pairs.push({ a: a.label, b: b.label, px: Math.max(dx, dy) });
  }

  for (const el of sticky) el.style.position = '';
  const prim = [...document.querySelectorAll(primary)].filter(visible).map((el) => {
    const r = el.getBoundingClientRect();
    const inside = (o) => r.left >= o.left - 0.5 && r.top >= o.top - 0.5 && r.right <= o.right + 0.5 && r.bottom <= o.bottom + 0.5;
    const mr = main.getBoundingClientRect();
    const inMain = !main.contains(el) || inside(mr);
    const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
    return { label: label(el), shown: inside(view) && inMain && !!hit && (el === hit || el.contains(hit)) };
  });

  const rgba = (s) => { const m = s.match(/[\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const over = (top, under) => { const a = top[3]; return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1); };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg;
  };
  const lum = (c) => { const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ctx = document.createElement('canvas').getContext('2d');
  const caps = {};
  const texts = [];
  const walker = document.createTreeWalker(document.getElementById('app'), NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || seen.has(el) || !visible(el)) continue;
    seen.add(el);
    if (el.closest('button:disabled')) continue; // WCAG: inactive controls are exempt
    const cs = getComputedStyle(el);
    const font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    if (!(font in caps)) { ctx.font = font; caps[font] = ctx.measureText('H').actualBoundingBoxAscent; }
    const bg = background(el);
    const fg = over(rgba(cs.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    texts.push({ label: label(el), status: !!el.closest(statusSel), cap: caps[font],
                 contrast: (hi + 0.05) / (lo + 0.05), font: cs.fontFamily.split(',')[0] });
  }
  return {
    screen: main.dataset.screen || '',
    targets: tgt.map((t) => ({ label: t.label, w: t.box.right - t.box.left, h: t.box.bottom - t.box.top })),
    pairs, primary: prim, texts,
    scrollTop: main.scrollTop, overflowX: main.scrollWidth - main.clientWidth,
    bodyScroll: document.scrollingElement.scrollTop,
  };
}
