// Drives the operator's console in headless Chromium against real servers
// started by the C++ e2e test, which passes what to expect in the
// environment and takes part in the live steps over stdin/stdout:
//   we print LIVE_READY   -> it appends an event carrying LIVE_MARKER
//   we print LIVE_SEEN ms -> it checks the delay since its append
//   we print PAUSED       -> it appends one more and writes
//                            "APPENDED_WHILE_PAUSED <marker>" to our stdin
// Prints "FAIL: ..." and exits 1 on the first failed check, "PASS" and 0
// at the end.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

const WAIT_MS = 15000;
const FIGURES = ['onHand', 'reserved', 'committed', 'available', 'incoming', 'damaged', 'shortfall'];

class Failure extends Error {}

function out(line) {
  process.stdout.write(`${line}\n`);
}

// The one assertion helper.
function check(condition, message) {
  if (!condition) throw new Failure(message);
}

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  check(value !== undefined && value !== '', `environment variable ${name} is not set`);
  return value;
}

const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);
// JSON with object keys sorted, for comparing values whatever their key order.
const canonical = (value) => JSON.stringify(value, (key, v) => (v && typeof v === 'object' && !Array.isArray(v)
  ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
const same = (a, b) => canonical(a) === canonical(b);

let config;
const readConfig = () => ({
  chromium: env('CHROMIUM', '/usr/bin/chromium'),
  inventory: env('INVENTORY_CONSOLE').replace(/\/$/, ''),
  cart: env('CART_CONSOLE').replace(/\/$/, ''),
  productId: env('PRODUCT_ID'),
  onHand: Number(env('EXPECTED_ON_HAND')),
  available: Number(env('EXPECTED_AVAILABLE')),
  warehouses: list(env('EXPECTED_WAREHOUSES')),
  historyTypes: list(env('EXPECTED_HISTORY_TYPES')),
  xss: env('XSS_TEXT'),
  correlationId: env('CORRELATION_ID'),
  correlationTypes: list(env('EXPECTED_CORRELATION_TYPES')),
  liveMarker: env('LIVE_MARKER'),
  screenshots: process.env.SCREENSHOT_DIR || '',
});

// ------------------------------------------------------------ stdin lines

const stdinLines = [];
const stdinWaiters = [];
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const waiter = stdinWaiters.findIndex((w) => line.startsWith(w.prefix));
  if (waiter >= 0) stdinWaiters.splice(waiter, 1)[0].resolve(line);
  else stdinLines.push(line);
});

// The next stdin line starting with `prefix`.
function stdinLine(prefix, timeoutMs) {
  const queued = stdinLines.findIndex((l) => l.startsWith(prefix));
  if (queued >= 0) return Promise.resolve(stdinLines.splice(queued, 1)[0]);
  return new Promise((resolve, reject) => {
    const waiter = { prefix, resolve };
    stdinWaiters.push(waiter);
    setTimeout(() => {
      const i = stdinWaiters.indexOf(waiter);
      if (i >= 0) stdinWaiters.splice(i, 1);
      reject(new Failure(`no "${prefix}" line on stdin within ${timeoutMs} ms`));
    }, timeoutMs).unref();
  });
}

// ------------------------------------------------------------ page helpers

// Console errors, page errors and CSP violations of a page, checked after
// every step.
function watch(page) {
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return () => check(problems.length === 0, `the page reported problems:\n  ${problems.join('\n  ')}`);
}

async function waitFor(page, what, fn, ...args) {
  try {
    return await page.waitForFunction(fn, { timeout: WAIT_MS, polling: 'mutation' }, ...args);
  } catch (error) {
    const box = await page.$eval('#error', (e) => (e.hidden ? '' : e.textContent)).catch(() => '');
    throw new Failure(`timed out waiting for ${what}${box ? ` (error box: ${box})` : ''}`);
  }
}

async function screenshot(page, name, options = {}) {
  if (!config.screenshots) return;
  fs.mkdirSync(config.screenshots, { recursive: true });
  await page.screenshot({ path: path.join(config.screenshots, name), ...options });
}

// Figures of a table (#figures or #asof-figures) by row: warehouse id or
// "total" -> {field: number}.
function readFigures(page, tableId) {
  return page.evaluate((id) => {
    const rows = {};
    for (const tr of document.querySelectorAll(`#${id} tr[data-warehouse], #${id} tr.total`)) {
      const key = tr.classList.contains('total') ? 'total' : tr.dataset.warehouse;
      rows[key] = Object.fromEntries([...tr.querySelectorAll('td[data-field]')]
        .map((td) => [td.dataset.field, Number(td.dataset.value)]));
    }
    return rows;
  }, tableId);
}

// The same shape from a GetStock-like API answer.
function figuresOf(stock) {
  const pick = (row) => Object.fromEntries(FIGURES.map((f) => [f, Number(row[f] ?? 0)]));
  const rows = { total: pick(stock) };
  for (const w of stock.warehouses || []) rows[w.warehouseId] = pick(w);
  return rows;
}

async function getJson(url) {
  const response = await fetch(url);
  const body = await response.json().catch(() => ({}));
  check(response.ok, `GET ${url}: HTTP ${response.status} ${body.message || ''}`);
  return body;
}

const inPage = (page, marker, selector) => page.evaluate((m, sel) =>
  [...document.querySelectorAll(sel)].some((e) => e.textContent.includes(m)), marker, selector);

// ------------------------------------------------------------ steps

async function productStep(page) {
  const url = `${config.inventory}/#/product/${encodeURIComponent(config.productId)}`;
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await waitFor(page, 'the figures table', () => document.querySelector('#figures tfoot tr.total'));
  await waitFor(page, 'the history table', () => document.querySelector('#history-section')?.dataset.loaded);
  await waitFor(page, 'the chart', () => document.querySelector('#chart') ||
    document.querySelector('#chart-box')?.textContent.includes('No events'));

  const figures = await readFigures(page, 'figures');
  check(figures.total?.onHand === config.onHand, `total on hand is ${figures.total?.onHand}, expected ${config.onHand}`);
  check(figures.total?.available === config.available, `total available is ${figures.total?.available}, expected ${config.available}`);
  for (const w of config.warehouses) check(figures[w], `no figures row for warehouse "${w}" (rows: ${Object.keys(figures)})`);

  const types = await page.$$eval('#history tbody tr[data-type]', (rows) => rows.map((r) => r.dataset.type));
  const head = types.slice(0, config.historyTypes.length);
  check(same(head, config.historyTypes), `history starts with [${head}], expected [${config.historyTypes}]`);

  const series = await page.$$eval('#chart path.series', (paths) => paths.map((p) => p.dataset.warehouse));
  for (const w of config.warehouses) {
    check(series.includes(w), `the chart has no line for warehouse "${w}" (lines: ${[...new Set(series)]})`);
  }
  await screenshot(page, 'product.png');
}

async function xssStep(page) {
  // The payload may sit on an older page of the history.
  while (!(await inPage(page, config.xss, '#history tbody'))) {
    const older = await page.$('#history-older:not([hidden])');
    check(older, 'XSS_TEXT does not appear as text in the history');
    const before = await page.$eval('#history-section', (e) => e.dataset.loaded);
    await older.click();
    await waitFor(page, 'older history', (b) => document.querySelector('#history-section').dataset.loaded !== b, before);
  }
  const verdict = await page.evaluate(() => ({
    pwned: typeof window.__pwned,
    img: document.querySelectorAll('img[src="x"]').length,
    scripts: document.scripts.length,
  }));
  check(verdict.pwned === 'undefined', 'window.__pwned is set: the payload ran');
  check(verdict.img === 0, 'an <img src="x"> was created from event data');
  check(verdict.scripts === 1, `${verdict.scripts} script elements, expected only console.js`);
}

async function asOfStep(page) {
  // Midway through the widest gap between two of the product's events.
  const times = [...new Set(await page.$$eval('#history tbody tr[data-recorded-at]',
    (rows) => rows.map((r) => Date.parse(r.dataset.recordedAt))))].sort((a, b) => a - b);
  check(times.length > 0, 'no history rows to take an instant from');
  let instant = times[0] + 1000;
  let widest = 0;
  for (let i = 1; i < times.length; i += 1) {
    if (times[i] - times[i - 1] > widest) {
      widest = times[i] - times[i - 1];
      instant = times[i - 1] + Math.floor(widest / 2);
    }
  }
  const asOf = new Date(instant).toISOString();
  await page.evaluate((ms) => {
    const d = new Date(ms);
    const p = (n, w = 2) => String(n).padStart(w, '0');
    const input = document.querySelector('#asof-input');
    input.value = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
      `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, instant);
  await waitFor(page, `the as-of figures for ${asOf}`, (want) => {
    const section = document.querySelector('#asof');
    return section.dataset.asOf === want && section.dataset.state !== 'loading';
  }, asOf);
  const state = await page.$eval('#asof', (e) => e.dataset.state);
  check(state === 'loaded', `the as-of view for ${asOf} is "${state}", expected figures`);

  const api = `${config.inventory}/api/inventory.v1.InventoryService/GetStockAsOf?product_id=${encodeURIComponent(config.productId)}&as_of=${encodeURIComponent(asOf)}`;
  const expected = figuresOf(await getJson(api));
  const shown = await readFigures(page, 'asof-figures');
  check(same(shown, expected), `as-of figures for ${asOf} differ from GetStockAsOf:\n  page ${JSON.stringify(shown)}\n  api  ${JSON.stringify(expected)}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'product-asof.png');
  await page.$eval('#chart-section', (e) => e.scrollIntoView());
  await screenshot(page, 'product-chart.png');
  await page.$eval('#history-section', (e) => e.scrollIntoView());
  await screenshot(page, 'product-history.png');
}

async function correlationStep(page) {
  await page.goto(`${config.cart}/#/correlation/${encodeURIComponent(config.correlationId)}`, { waitUntil: 'domcontentloaded' });
  await waitFor(page, 'the correlation table', () => document.querySelector('#correlation')?.dataset.loaded);
  for (;;) {
    const more = await page.$('#correlation-more:not([hidden])');
    if (!more) break;
    const before = await page.$eval('#correlation', (e) => e.dataset.loaded);
    await more.click();
    await waitFor(page, 'the next correlation page', (b) => document.querySelector('#correlation').dataset.loaded !== b, before);
  }
  const rows = await page.$$eval('#correlation tbody tr[data-type]', (trs) => trs.map((r) => [r.dataset.type, r.dataset.service]));
  const types = rows.map(([type]) => type);
  check(same(types, config.correlationTypes), `correlation types are [${types}], expected [${config.correlationTypes}]`);
  const services = new Set(rows.map(([, service]) => service));
  check(services.has('inventory') && services.has('cart'), `correlation rows come from [${[...services]}], expected inventory and cart`);
  await screenshot(page, 'correlation.png');
}

const liveColumn = (service) => `.live-col[data-service="${service}"]`;

async function liveStep(page) {
  await page.goto(`${config.cart}/#/live`, { waitUntil: 'domcontentloaded' });
  for (const service of ['cart', 'inventory']) {
    await waitFor(page, `the ${service} live column to be live`,
      (sel) => document.querySelector(`${sel} .status`)?.dataset.status === 'live', liveColumn(service));
  }
  out('LIVE_READY');
  const seenAt = await waitForMarker(page, config.liveMarker, 10000);
  out(`LIVE_SEEN ${seenAt}`);

  await page.click('#live-pause');
  for (const service of ['cart', 'inventory']) {
    const status = await page.$eval(`${liveColumn(service)} .status`, (e) => e.dataset.status);
    check(status === 'paused', `the ${service} column is "${status}" after Pause`);
  }
  out('PAUSED');
  const line = await stdinLine('APPENDED_WHILE_PAUSED ', 60000);
  const marker = line.slice('APPENDED_WHILE_PAUSED '.length).trim();
  check(marker, 'APPENDED_WHILE_PAUSED came without a marker');
  await new Promise((resolve) => setTimeout(resolve, 500));
  check(!(await inPage(page, marker, '.live-col tbody')), `"${marker}" is on the page while paused`);
  await page.click('#live-pause');
  await waitForMarker(page, marker, 5000);
  await screenshot(page, 'live.png');
}

// Resolves with the page's Date.now() when a row of the inventory column
// shows `marker`.
async function waitForMarker(page, marker, timeoutMs) {
  try {
    const handle = await page.waitForFunction((sel, m) => {
      const hit = [...document.querySelectorAll(`${sel} tbody tr`)].some((r) => r.textContent.includes(m));
      return hit ? Date.now() : false;
    }, { timeout: timeoutMs, polling: 'mutation' }, liveColumn('inventory'), marker);
    return await handle.jsonValue();
  } catch {
    throw new Failure(`no row with "${marker}" in the inventory live column within ${timeoutMs} ms`);
  }
}

// ------------------------------------------------------------ main

async function main() {
  const browser = await puppeteer.launch({
    executablePath: config.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    const checkPage = watch(page);
    const steps = [['product', productStep], ['xss', xssStep], ['as-of', asOfStep],
      ['correlation', correlationStep], ['live', liveStep]];
    for (const [name, step] of steps) {
      try {
        await step(page);
        checkPage();
      } catch (error) {
        if (error instanceof Failure) error.message = `${name}: ${error.message}`;
        throw error;
      }
    }
  } finally {
    await browser.close().catch(() => {});
  }
}

const watchdog = setTimeout(() => {
  out('FAIL: the browser test did not finish within 180 s');
  process.exit(1);
}, 180000);
watchdog.unref();

try {
  config = readConfig();
  await main();
  out('PASS');
  process.exit(0);
} catch (error) {
  out(`FAIL: ${error instanceof Failure ? error.message : error.stack || error}`);
  process.exit(1);
}
