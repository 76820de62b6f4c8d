// Loads a report's approvals.html in headless Chromium and checks it (see check-html.sh).
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

// Rows of a CSV file as objects (RFC 4180 quoting).
function readCsv(file) {
  const text = fs.readFileSync(file, 'utf8');
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  const [header, ...body] = rows;
  return body.map(r => Object.fromEntries(header.map((h, k) => [h, r[k]])));
}

async function main() {
  const dir = path.resolve(process.argv[2]);
  const page_ = path.join(dir, 'approvals.html');
  const csv = name => readCsv(path.join(dir, name));
  const days = csv('approvals-by-day.csv');
  const reasons = csv('declines-by-reason.csv');
  const common = {
    country: csv('approvals-by-country.csv').length,
    device: csv('approvals-by-device.csv').length,
    value_band: csv('approvals-by-value-band.csv').length,
    currency: csv('approvals-by-currency.csv').length,
    classes: new Set(reasons.map(r => r.decline_class || 'none')).size,
    reasons: Math.min(12, reasons.length),
  };
  const trendPoints = days.filter(r => r.approval_rate !== '').length;
  const layouts = [
    { width: 1366, height: 800, expected: { ...common, trend: trendPoints, volume: days.length } },
    { width: 390, height: 844, expected: { ...common, 'trend-phone': trendPoints, 'volume-phone': days.length } },
  ];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const failures = [];
  const report = { page: page_, layouts: [] };
  try {
    for (const layout of layouts) {
      const at = `${layout.width}px`;
      const page = await browser.newPage({ viewport: { width: layout.width, height: layout.height } });
      const url = 'file://' + page_;
      const requests = [];
      page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') failures.push(`${at} console ${m.type()}: ${m.text()}`); });
      page.on('pageerror', e => failures.push(`${at} page error: ${e.message}`));
      page.on('request', r => { if (r.url() !== url) requests.push(r.url()); });
      await page.goto(url, { waitUntil: 'load' });
      if (requests.length) failures.push(`${at} network requests: ${requests.join(', ')}`);
      const got = await page.evaluate(() => {
        const visible = e => { const b = e.getBoundingClientRect(); return b.width > 0 && b.height > 0; };
        const charts = Array.from(document.querySelectorAll('[data-chart]')).filter(visible).map(c => {
          const box = c.getBoundingClientRect();
          const marks = Array.from(c.querySelectorAll('.bar, .point'));
          const widths = Array.from(c.querySelectorAll('.row > .track > .bar')).map(b => b.getBoundingClientRect().width);
          return {
            name: c.dataset.chart, width: box.width, height: box.height, marks: marks.length,
            drawn: marks.filter(visible).length, refs: c.querySelectorAll('.ref').length, widths,
            right: box.right,
          };
        });
        // The smallest text a reader sees: HTML text by its computed size, SVG text by its box.
        let smallest = Infinity, smallestWhat = '';
        for (const e of document.querySelectorAll('body *')) {
          if (!visible(e) || e.closest('svg') && e.tagName !== 'text') continue;
          const own = Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
          if (!own) continue;
          const svg = e.closest('svg');
          const scale = svg && svg.viewBox.baseVal && svg.viewBox.baseVal.width
            ? svg.getBoundingClientRect().width / svg.viewBox.baseVal.width : 1;
          const size = parseFloat(getComputedStyle(e).fontSize) * scale;
          if (size < smallest) { smallest = size; smallestWhat = `${e.tagName}.${e.className?.baseVal ?? e.className}: ${e.textContent.trim().slice(0, 30)}`; }
        }
        const tables = Array.from(document.querySelectorAll('table'));
        return {
          charts, smallest, smallestWhat,
          scrollWidth: document.documentElement.scrollWidth,
          unwrapped: tables.filter(t => !t.closest('.scroll')).map(t => t.dataset.table),
          links: Array.from(document.querySelectorAll('a.csv')).map(a => a.getAttribute('href')),
        };
      });
      for (const [name, n] of Object.entries(layout.expected)) {
        const c = got.charts.find(c => c.name === name);
        if (!c) { failures.push(`${at} chart ${name}: missing or hidden`); continue; }
        if (c.marks !== n) failures.push(`${at} chart ${name}: ${c.marks} bars, expected ${n}`);
        if (n > 0 && c.drawn === 0) failures.push(`${at} chart ${name}: no bar has a size`);
        if (c.right > layout.width + 0.5) failures.push(`${at} chart ${name}: runs off the page (${c.right})`);
        if (['country', 'device', 'currency'].includes(name)) {
          if (n > 0 && c.refs !== n) failures.push(`${at} chart ${name}: ${c.refs} reference marks for ${n} bars`);
          for (let i = 1; i < c.widths.length; i++) {
            if (c.widths[i] > c.widths[i - 1] + 0.5) { failures.push(`${at} chart ${name}: bars not sorted by rate`); break; }
          }
        }
      }
      if (got.scrollWidth > layout.width) failures.push(`${at}: the page is ${got.scrollWidth}px wide`);
      if (got.unwrapped.length) failures.push(`${at}: tables not in a scroll box: ${got.unwrapped.join(', ')}`);
      if (got.smallest < 10.5) failures.push(`${at}: text of ${got.smallest.toFixed(1)}px (${got.smallestWhat})`);
      for (const href of new Set(got.links)) {
        if (!fs.existsSync(path.join(dir, href))) failures.push(`${at}: link to a missing file ${href}`);
      }
      if (got.links.length < 8) failures.push(`${at}: ${got.links.length} CSV links`);
      const shot = path.join(dir, `approvals-${layout.width}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      report.layouts.push({ width: layout.width, screenshot: shot, smallestText: got.smallest, smallestWhat: got.smallestWhat, scrollWidth: got.scrollWidth, charts: got.charts.map(({ widths, ...c }) => c) });
      if (layout.width === 1366) {
        // Printable: Chromium's print path (A4, print stylesheet) gives a PDF with pages.
        const pdf = path.join(dir, 'approvals.pdf');
        await page.emulateMedia({ media: 'print' });
        await page.pdf({ path: pdf, format: 'A4', printBackground: true });
        const pages = (fs.readFileSync(pdf, 'latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
        if (pages < 1) failures.push('print: the PDF has no pages');
        report.pdf = pdf; report.pages = pages;
      }
      await page.close();
    }
    console.log(JSON.stringify(report, null, 1));
  } finally {
    await browser.close();
  }
  if (failures.length) {
    console.error('check-html: FAILED\n  ' + failures.join('\n  '));
    process.exit(1);
  }
  console.error('check-html: ok');
}

main().catch(e => { console.error(e); process.exit(2); });
