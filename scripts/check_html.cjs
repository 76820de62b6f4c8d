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
  const expected = {
    country: readCsv(path.join(dir, 'approvals-by-country.csv')).length,
    device: readCsv(path.join(dir, 'approvals-by-device.csv')).length,
    classes: new Set(readCsv(path.join(dir, 'declines-by-reason.csv')).map(r => r.decline_class || 'none')).size,
    trend: readCsv(path.join(dir, 'approvals-by-day.csv')).filter(r => r.approval_rate !== '').length,
  };
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const failures = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
    const url = 'file://' + page_;
    const requests = [];
    page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') failures.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', e => failures.push(`page error: ${e.message}`));
    page.on('request', r => { if (r.url() !== url) requests.push(r.url()); });
    await page.goto(url, { waitUntil: 'load' });
    if (requests.length) failures.push(`network requests: ${requests.join(', ')}`);
    const charts = await page.evaluate(() => Array.from(document.querySelectorAll('svg[data-chart]')).map(s => {
      const box = s.getBoundingClientRect();
      const marks = Array.from(s.querySelectorAll('.bar, .point'));
      return {
        name: s.dataset.chart, width: box.width, height: box.height, marks: marks.length,
        drawn: marks.filter(m => { const b = m.getBBox(); return b.width > 0 && b.height > 0; }).length,
      };
    }));
    for (const [name, n] of Object.entries(expected)) {
      const c = charts.find(c => c.name === name);
      if (!c) { failures.push(`chart ${name}: missing`); continue; }
      if (!(c.width > 0 && c.height > 0)) failures.push(`chart ${name}: empty (${c.width}x${c.height})`);
      if (c.marks !== n) failures.push(`chart ${name}: ${c.marks} bars, expected ${n}`);
      if (n > 0 && c.drawn === 0) failures.push(`chart ${name}: no bar has a size`);
    }
    const shot = path.join(dir, 'approvals.png');
    await page.screenshot({ path: shot, fullPage: true });
    // Printable: Chromium's print path (A4, print stylesheet) gives a PDF with pages.
    const pdf = path.join(dir, 'approvals.pdf');
    await page.emulateMedia({ media: 'print' });
    await page.pdf({ path: pdf, format: 'A4', printBackground: true });
    const pages = (fs.readFileSync(pdf, 'latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
    if (pages < 1) failures.push('print: the PDF has no pages');
    console.log(JSON.stringify({ page: page_, charts, expected, screenshot: shot, pdf, pages }, null, 1));
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
