// The operator's console: a read-only page over the service's admin HTTP
// API, for investigating stock discrepancies. Views are routed by
// location.hash: #/ (home), #/product/{id}, #/correlation/{id}, #/live.
//
// Every value from the API is user data: the DOM is built with
// createElement / textContent / setAttribute only, never innerHTML, and
// nothing is styled inline (the server's CSP refuses inline styles).

const SVG_NS = 'http://www.w3.org/2000/svg';

const INVENTORY_TYPES = [
  'product.added', 'stock.received', 'stock.reserved', 'stock.released',
  'reservation.expired', 'stock.committed', 'stock.shipped',
  'commitment.cancelled', 'stock.returned', 'transfer.dispatched',
  'transfer.received', 'stock.adjusted',
];

const HISTORY_PAGE = 50;
const LIVE_MAX_ROWS = 500;
const LIVE_RETRY_MS = 1000;

// Figures of GetStock / GetStockAsOf, in table order.
const FIGURES = [
  ['onHand', 'On hand'], ['reserved', 'Reserved'], ['committed', 'Committed'],
  ['available', 'Available'], ['incoming', 'Incoming'], ['damaged', 'Damaged'],
  ['shortfall', 'Shortfall'],
];

// Data fields shown in a summary, in this order; others follow as they come.
const SUMMARY_ORDER = [
  'quantity', 'delta', 'previousQuantity', 'newQuantity', 'quantityDispatched',
  'quantityReceived', 'quantityLost', 'remaining', 'lines', 'name',
  'priceCents', 'unitPriceCents', 'unitCostCents', 'reference', 'supplier',
  'receiptId', 'reservationId', 'releaseId', 'orderId', 'shipmentId',
  'returnId', 'transferId', 'adjustmentId', 'condition', 'bucket', 'counted',
  'productId', 'customerId', 'expiresAt', 'soldReservationIds',
];
const WAREHOUSE_KEYS = ['warehouseId', 'fromWarehouseId', 'toWarehouseId'];
const WHY_KEYS = ['reason', 'notes'];
const ENUM_PREFIXES = [
  'RETURN_REASON_', 'RETURN_CONDITION_', 'ADJUSTMENT_REASON_', 'STOCK_BUCKET_',
];
const MONEY_KEYS = ['priceCents', 'unitPriceCents', 'unitCostCents'];

// ---------------------------------------------------------------- DOM helpers

// Appends children (nodes, strings as text, arrays; null/false skipped).
function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

// Sets attributes: `class`, `on` (listeners), others through setAttribute.
function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (key === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  return el;
}

function h(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

function s(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
}

const $ = (selector, root = document) => root.querySelector(selector);

// ---------------------------------------------------------------- values

const num = (value) => Number(value ?? 0);

function parseJson(text) {
  if (!text) return {};
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' ? value : { value };
  } catch {
    return { unparsed: String(text) };
  }
}

const pad = (n, width = 2) => String(n).padStart(width, '0');

// Local wall-clock time with milliseconds: 2026-12-07 11:00:00.123.
function fmtLocal(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.` +
    `${pad(d.getMilliseconds(), 3)}`;
}

// A <time> showing local time, with the API's UTC value as its datetime.
function timeEl(rfc3339) {
  const ms = Date.parse(rfc3339);
  if (Number.isNaN(ms)) return h('span', { class: 'muted' }, rfc3339 || '—');
  return h('time', { datetime: rfc3339, title: `${rfc3339} (UTC)` }, fmtLocal(ms));
}

// Value for <input type="datetime-local" step="0.001">, in local time.
function toLocalInput(ms) {
  return fmtLocal(ms).replace(' ', 'T');
}

// A datetime-local value (local time, no zone) as RFC3339 UTC, or ''.
function localInputToRfc3339(value) {
  if (!value) return '';
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

function zoneLabel() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local';
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${zone} (UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)})`;
}

function money(cents) {
  const n = num(cents);
  return `${n < 0 ? '-' : ''}${Math.floor(Math.abs(n) / 100)}.${pad(Math.abs(n) % 100)}`;
}

// RETURN_REASON_WRONG_ITEM -> "wrong item".
function enumText(value) {
  if (typeof value !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(value)) return value;
  const prefix = ENUM_PREFIXES.find((p) => value.startsWith(p));
  return (prefix ? value.slice(prefix.length) : value).toLowerCase().replaceAll('_', ' ');
}

// "camelCase" -> "camel case".
const label = (key) => key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();

function valueText(key, value) {
  if (Array.isArray(value)) {
    return value.map((item) => (item && typeof item === 'object' && 'warehouseId' in item
      ? `${item.warehouseId || 'main'} ${num(item.quantity)}`
      : valueText(key, item))).join(', ');
  }
  if (value && typeof value === 'object') return JSON.stringify(value);
  if (MONEY_KEYS.includes(key)) return money(value);
  if (key.endsWith('At') && typeof value === 'string' && !Number.isNaN(Date.parse(value))) {
    return fmtLocal(Date.parse(value));
  }
  return String(enumText(value));
}

// Warehouses an event's data names (stock.added's initial units are in main).
function warehousesOf(type, data) {
  const ids = [];
  for (const key of WAREHOUSE_KEYS) if (data[key]) ids.push(data[key]);
  for (const line of Array.isArray(data.lines) ? data.lines : []) {
    if (line && line.warehouseId) ids.push(line.warehouseId);
  }
  if (ids.length === 0 && type === 'product.added') ids.push('main');
  return [...new Set(ids)];
}

// Short "label value" pairs of an event's data.
function summaryPairs(data, { skip = [] } = {}) {
  const keys = Object.keys(data).filter((k) => !skip.includes(k));
  keys.sort((a, b) => {
    const ia = SUMMARY_ORDER.indexOf(a); const ib = SUMMARY_ORDER.indexOf(b);
    return (ia < 0 ? 999 : ia) - (ib < 0 ? 999 : ib);
  });
  return keys.map((k) => [k, valueText(k, data[k])]).filter(([, v]) => v !== '');
}

function summaryEl(data, options) {
  const pairs = summaryPairs(data, options);
  if (pairs.length === 0) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'summary' }, pairs.map(([k, v]) =>
    h('span', { class: 'pair', 'data-key': k }, h('span', { class: 'k' }, label(k)), ' ', h('span', { class: 'v' }, v))));
}

function whyText(data) {
  return WHY_KEYS.filter((k) => data[k]).map((k) => valueText(k, data[k])).join('; ');
}

function whoEl(meta) {
  return h('span', { class: 'who' },
    meta.causedBy ? h('span', { class: 'caused-by' }, meta.causedBy) : h('span', { class: 'muted' }, '—'),
    meta.onBehalfOf ? h('span', { class: 'on-behalf' }, 'for ', meta.onBehalfOf) : null);
}

function correlationLink(meta) {
  if (!meta.correlationId) return h('span', { class: 'muted' }, '—');
  return h('a', { href: `#/correlation/${encodeURIComponent(meta.correlationId)}`, class: 'corr' },
    meta.correlationId);
}

// Full data and metadata, folded away.
function rawEl(event) {
  return h('details', { class: 'raw' }, h('summary', null, 'json'),
    h('pre', null, `data ${event.dataJson || '{}'}\nmetadata ${event.metadataJson || '{}'}\nevent ${event.eventId || ''}`));
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || `HTTP_${status}`;
    this.reason = body.reason || '';
  }
}

async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== '' && v !== null && v !== undefined) query.append(key, v);
    }
  }
  const url = `/api/${path}${query.size ? `?${query}` : ''}`;
  let response;
  try {
    response = await fetch(url, { headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new ApiError(0, { code: 'UNAVAILABLE', message: `${url}: ${e.message}` });
  }
  const text = await response.text();
  let body;
  try { body = text ? JSON.parse(text) : {}; } catch { body = { message: text.slice(0, 300) }; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

const INV = 'inventory.v1.InventoryService';

// ---------------------------------------------------------------- page frame

const app = { service: '', peers: [], cleanup: [], generation: 0 };

function showError(error) {
  const box = $('#error');
  const code = error instanceof ApiError
    ? `${error.code}${error.reason ? ` (${error.reason})` : ''}: ` : '';
  box.replaceChildren(h('strong', null, 'Error '), `${code}${error.message || error}`);
  box.hidden = false;
}

function clearError() {
  const box = $('#error');
  box.hidden = true;
  box.replaceChildren();
}

// Runs an async step of the current view; errors go to the error box, and
// a view left meanwhile is ignored.
function guarded(generation, fn) {
  return fn().catch((error) => {
    if (generation === app.generation) showError(error);
  });
}

function render() {
  for (const fn of app.cleanup.splice(0)) fn();
  app.generation += 1;
  clearError();
  const view = $('#view');
  view.replaceChildren();
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const [name, ...rest] = parts;
  const arg = rest.length ? decodeURIComponent(rest.join('/')) : '';
  for (const link of document.querySelectorAll('header nav a')) {
    link.toggleAttribute('aria-current', link.getAttribute('href') === `#/${name || ''}`);
  }
  if (name === 'product' && arg) return productView(view, arg);
  if (name === 'correlation' && arg) return correlationView(view, arg);
  if (name === 'live') return liveView(view);
  return homeView(view);
}

// ---------------------------------------------------------------- home

function homeView(view) {
  document.title = `Home · ${app.service} console`;
  const go = (prefix, input) => (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (value) location.hash = `#/${prefix}/${encodeURIComponent(value)}`;
  };
  const productInput = h('input', { id: 'home-product', name: 'product', required: true, placeholder: 'sneakers-1', autocomplete: 'off' });
  const corrInput = h('input', { id: 'home-correlation', name: 'correlation', required: true, placeholder: 'correlation id', autocomplete: 'off' });
  append(view, [
    h('h1', null, `${app.service.charAt(0).toUpperCase()}${app.service.slice(1)} console`),
    h('p', { class: 'muted' }, 'Read-only. Follow a product\'s stock, a request across services, or the live event streams.'),
    h('div', { class: 'cards' },
      app.service === 'inventory'
        ? h('form', { class: 'card', on: { submit: go('product', productInput) } },
          h('h2', null, 'Product'),
          h('label', { for: 'home-product' }, 'Product id'), productInput,
          h('button', { type: 'submit' }, 'Open product'))
        : null,
      h('form', { class: 'card', on: { submit: go('correlation', corrInput) } },
        h('h2', null, 'Correlation'),
        h('label', { for: 'home-correlation' }, 'Correlation id'), corrInput,
        h('button', { type: 'submit' }, 'Open correlation')),
      h('div', { class: 'card' },
        h('h2', null, 'Live'),
        h('p', null, `New events of ${[app.service, ...app.peers].join(' and ')} as they commit.`),
        h('a', { href: '#/live', class: 'button' }, 'Open live view'))),
  ]);
  (app.service === 'inventory' ? productInput : corrInput).focus();
}

// ---------------------------------------------------------------- product

// A figures table: one row per warehouse and a total row. `compare`, when
// given, marks the cells that differ from it.
function figuresTable(stock, { caption, id, names, compare }) {
  const cell = (row, field, other) => {
    const value = num(row[field]);
    const differs = other !== undefined && num(other[field]) !== value;
    return h('td', {
      class: ['n', field === 'shortfall' && value > 0 ? 'bad' : '', differs ? 'diff' : ''],
      'data-field': field,
      'data-value': value,
      title: differs ? `now ${num(other[field])}` : null,
    }, value.toLocaleString('en-US'));
  };
  const nowWarehouses = new Map((compare?.warehouses || []).map((w) => [w.warehouseId, w]));
  const rows = (stock.warehouses || []).map((w) => h('tr', { 'data-warehouse': w.warehouseId },
    h('th', { scope: 'row' }, w.warehouseId,
      names.get(w.warehouseId) && names.get(w.warehouseId) !== w.warehouseId
        ? h('span', { class: 'muted' }, ` ${names.get(w.warehouseId)}`) : null),
    FIGURES.map(([f]) => cell(w, f, compare ? (nowWarehouses.get(w.warehouseId) || {}) : undefined))));
  return h('table', { class: 'figures', id },
    h('caption', null, caption),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Warehouse'),
      FIGURES.map(([, text]) => h('th', { scope: 'col', class: 'n' }, text)))),
    h('tbody', null, rows.length ? rows
      : h('tr', null, h('td', { colspan: FIGURES.length + 1, class: 'muted' }, 'No warehouse holds this product.'))),
    h('tfoot', null, h('tr', { class: 'total' }, h('th', { scope: 'row' }, 'Total'),
      FIGURES.map(([f]) => cell(stock, f, compare)))));
}

async function listWarehouses() {
  const all = [];
  let token = '';
  for (let page = 0; page < 20; page += 1) {
    const body = await api(`${INV}/ListWarehouses`, { page_token: token });
    all.push(...(body.warehouses || []));
    token = body.nextPageToken || '';
    if (!token) break;
  }
  return all;
}

function productView(view, productId) {
  document.title = `${productId} · inventory console`;
  const generation = app.generation;
  if (app.service !== 'inventory') {
    append(view, [h('h1', null, 'Product ', productId),
      h('p', null, 'Products are shown by the inventory console.')]);
    return;
  }
  const ctx = {
    productId, generation, names: new Map(), stock: null, chart: null,
    history: { nextFromVersion: '0', filters: {} },
  };
  const heading = h('h1', null, 'Product ', h('span', { class: 'id' }, productId));
  const facts = h('dl', { class: 'facts', id: 'facts' });
  const figures = h('div', { id: 'figures-box' }, h('p', { class: 'muted' }, 'Loading figures…'));
  const asOf = asOfSection(ctx);
  const chart = h('section', { id: 'chart-section', 'aria-labelledby': 'chart-h' },
    h('h2', { id: 'chart-h' }, 'On hand and available over time'),
    h('div', { id: 'chart-box' }, h('p', { class: 'muted' }, 'Loading series…')));
  const history = historySection(ctx);
  const body = h('div', { id: 'product-body' },
    h('div', { class: 'grid2' },
      h('section', { 'aria-labelledby': 'now-h' }, h('h2', { id: 'now-h' }, 'Now'), figures),
      asOf.section),
    chart, history.section);
  append(view, [h('div', { class: 'title-row' }, heading, facts), body]);

  guarded(generation, async () => {
    let stock; let warehouses;
    try {
      [stock, warehouses] = await Promise.all([
        api(`${INV}/GetStock`, { product_id: productId }),
        listWarehouses().catch(() => []),
      ]);
    } catch (error) {
      body.replaceChildren(h('p', { class: 'muted' }, 'Nothing to show for this product. ', h('a', { href: '#/' }, 'Back to home')));
      throw error;
    }
    if (generation !== app.generation) return;
    for (const w of warehouses) ctx.names.set(w.warehouseId, w.name);
    ctx.stock = stock;
    facts.replaceChildren(
      h('dt', null, 'Name'), h('dd', { id: 'product-name' }, stock.name || '—'),
      h('dt', null, 'Price'), h('dd', null, money(stock.priceCents)),
      h('dt', null, 'Version'), h('dd', { id: 'product-version' }, String(num(stock.version))));
    figures.replaceChildren(figuresTable(stock, { caption: 'Current figures', id: 'figures', names: ctx.names }));
    history.setWarehouses([...new Set([...warehouses.map((w) => w.warehouseId),
      ...(stock.warehouses || []).map((w) => w.warehouseId)])]);
    await Promise.all([
      guarded(generation, () => loadChart(ctx)),
      guarded(generation, () => asOf.init()),
      guarded(generation, () => history.load(false)),
    ]);
  });
}

// The as-of picker (a datetime field and a slider over the product's
// first..last event) and its figures table.
function asOfSection(ctx) {
  const input = h('input', { type: 'datetime-local', id: 'asof-input', step: '0.001' });
  const slider = h('input', { type: 'range', id: 'asof-slider', min: '0', max: '1', step: '1', 'aria-label': 'As-of instant between the first and last event' });
  const status = h('p', { id: 'asof-caption', class: 'muted' }, 'Pick an instant.');
  const box = h('div', { id: 'asof-box' });
  const section = h('section', { id: 'asof', 'aria-labelledby': 'asof-h', 'data-state': 'none' },
    h('h2', { id: 'asof-h' }, 'As of an instant'),
    h('div', { class: 'asof-controls' },
      h('label', { for: 'asof-input' }, 'Instant (local time, ', zoneLabel(), ')'), input,
      h('div', { class: 'slider-row' }, h('span', { class: 'muted', id: 'asof-first' }), slider, h('span', { class: 'muted', id: 'asof-last' }))),
    status, box);
  let sequence = 0;
  let timer = null;

  async function load(rfc3339) {
    const mine = ++sequence;
    section.dataset.state = 'loading';
    section.dataset.asOf = rfc3339;
    ctx.chart?.markAsOf(Date.parse(rfc3339));
    try {
      const stock = await api(`${INV}/GetStockAsOf`, { product_id: ctx.productId, as_of: rfc3339 });
      if (mine !== sequence || ctx.generation !== app.generation) return;
      status.replaceChildren('As of ', timeEl(stock.asOf || rfc3339), ` · version ${num(stock.version)}`,
        h('span', { class: 'muted' }, ' · cells that differ from now are marked'));
      box.replaceChildren(figuresTable(stock, { caption: 'Figures as of the instant', id: 'asof-figures', names: ctx.names, compare: ctx.stock }));
      section.dataset.state = 'loaded';
    } catch (error) {
      if (mine !== sequence || ctx.generation !== app.generation) return;
      box.replaceChildren();
      if (error instanceof ApiError && error.status === 404) {
        status.replaceChildren(`The product did not exist yet at ${fmtLocal(Date.parse(rfc3339))}.`);
        section.dataset.state = 'not-found';
      } else {
        status.replaceChildren('Could not read the figures.');
        section.dataset.state = 'error';
        showError(error);
      }
    }
  }

  input.addEventListener('change', () => {
    clearTimeout(timer);
    const rfc3339 = localInputToRfc3339(input.value);
    if (!rfc3339) return;
    slider.value = String(Date.parse(rfc3339));
    load(rfc3339);
  });
  slider.addEventListener('input', () => {
    const ms = Number(slider.value);
    input.value = toLocalInput(ms);
    clearTimeout(timer);
    timer = setTimeout(() => load(new Date(ms).toISOString()), 150);
  });

  // Bounds from the first and the latest event; starts at the latest.
  async function init() {
    const edge = (direction) => api(`${INV}/ListProductEvents`, {
      product_id: ctx.productId, direction, max_count: 1,
    }).then((b) => (b.events || [])[0]);
    const [first, last] = await Promise.all([edge('READ_DIRECTION_FORWARD'), edge('READ_DIRECTION_BACKWARD')]);
    if (!first || !last) return;
    // Times are in microseconds, the slider in milliseconds: 1 ms later
    // than an event's truncated time is never before the event.
    const lo = Date.parse(first.recordedAt) + 1;
    const hi = Math.max(Date.parse(last.recordedAt) + 1, lo + 1);
    slider.min = String(lo);
    slider.max = String(hi);
    slider.value = String(hi);
    $('#asof-first', section).textContent = fmtLocal(lo);
    $('#asof-last', section).textContent = fmtLocal(hi);
    input.value = toLocalInput(hi);
    await load(last.recordedAt);
  }
  return { section, init };
}

// The movement history, newest first, with filters and an "older" button.
function historySection(ctx) {
  const typeBoxes = INVENTORY_TYPES.map((type) => h('input', { type: 'checkbox', name: 'types', value: type, id: `f-type-${type}` }));
  const typeSet = h('fieldset', { class: 'types', id: 'f-types' }, h('legend', null, 'Types (none ticked: all)'),
    typeBoxes.map((box) => h('label', { for: box.id, class: 'check' }, box, ` ${box.value}`)));
  const warehouseSelect = h('select', { id: 'f-warehouse' }, h('option', { value: '' }, 'any'));
  const from = h('input', { type: 'datetime-local', id: 'f-from', step: '1' });
  const to = h('input', { type: 'datetime-local', id: 'f-to', step: '1' });
  const tbody = h('tbody');
  const count = h('span', { class: 'muted', id: 'history-count' });
  const older = h('button', { type: 'button', id: 'history-older', hidden: true }, 'Older');
  const form = h('form', { class: 'filters', id: 'history-filters' },
    typeSet,
    h('div', { class: 'field' }, h('label', { for: 'f-warehouse' }, 'Warehouse'), warehouseSelect),
    h('div', { class: 'field' }, h('label', { for: 'f-from' }, 'From (local)'), from),
    h('div', { class: 'field' }, h('label', { for: 'f-to' }, 'To (local, exclusive)'), to),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit' }, 'Apply'),
      h('button', { type: 'reset', class: 'secondary' }, 'Clear')));
  const section = h('section', { id: 'history-section', 'aria-labelledby': 'history-h' },
    h('h2', { id: 'history-h' }, 'Movement history ', count),
    form,
    h('table', { id: 'history', class: 'events' },
      h('caption', { class: 'visually-hidden' }, 'Events of the product, newest first'),
      h('thead', null, h('tr', null, ['Time', 'Version', 'Type', 'Warehouse', 'Data', 'Who', 'Correlation']
        .map((t) => h('th', { scope: 'col' }, t)))),
      tbody),
    h('div', { class: 'more' }, older));

  function row(event) {
    const data = parseJson(event.dataJson);
    const meta = parseJson(event.metadataJson);
    return h('tr', { 'data-version': num(event.version), 'data-type': event.type, 'data-recorded-at': event.recordedAt },
      h('td', { class: 'time' }, timeEl(event.recordedAt)),
      h('td', { class: 'n' }, String(num(event.version))),
      h('td', { class: 'type' }, h('span', { class: `tag t-${event.type.split('.')[0]}` }, event.type)),
      h('td', { class: 'wh' }, warehousesOf(event.type, data).join(', ') || '—'),
      h('td', { class: 'data' }, summaryEl(data, { skip: WAREHOUSE_KEYS }), rawEl(event)),
      h('td', null, whoEl(meta)),
      h('td', null, correlationLink(meta)));
  }

  async function load(more) {
    const f = ctx.history.filters;
    older.disabled = true;
    const body = await api(`${INV}/ListProductEvents`, {
      product_id: ctx.productId, direction: 'READ_DIRECTION_BACKWARD', max_count: HISTORY_PAGE,
      from_version: more ? ctx.history.nextFromVersion : '',
      types: f.types, warehouse_id: f.warehouse, from_time: f.from, to_time: f.to,
    });
    if (ctx.generation !== app.generation) return;
    if (!more) tbody.replaceChildren();
    append(tbody, (body.events || []).map(row));
    if (!tbody.children.length) {
      tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 7, class: 'muted' }, 'No events match.')));
    }
    ctx.history.nextFromVersion = body.nextFromVersion || '0';
    older.hidden = num(ctx.history.nextFromVersion) === 0;
    older.disabled = false;
    const shown = tbody.querySelectorAll('tr[data-version]').length;
    count.textContent = `${shown} shown, newest first${older.hidden ? '' : ' (more older)'}`;
    section.dataset.loaded = String(Date.now());
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.history.filters = {
      types: typeBoxes.filter((box) => box.checked).map((box) => box.value),
      warehouse: warehouseSelect.value,
      from: localInputToRfc3339(from.value),
      to: localInputToRfc3339(to.value),
    };
    guarded(ctx.generation, () => load(false));
  });
  form.addEventListener('reset', () => {
    setTimeout(() => form.requestSubmit(), 0);
  });
  older.addEventListener('click', () => guarded(ctx.generation, () => load(true)));

  function setWarehouses(ids) {
    warehouseSelect.replaceChildren(h('option', { value: '' }, 'any'),
      ...ids.sort().map((id) => h('option', { value: id, title: ctx.names.get(id) || null }, id)));
  }
  return { section, load, setWarehouses };
}

// ---------------------------------------------------------------- chart

const PALETTE = ['#1f6feb', '#d9480f', '#2b8a3e', '#9c36b5', '#e67700', '#0b7285', '#c2255c', '#5c940d'];

function niceStep(range, target) {
  const raw = range / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return Math.max(1, m * power);
  return Math.max(1, 10 * power);
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
  10800, 21600, 43200, 86400, 172800, 604800, 2592000].map((sec) => sec * 1000);

function timeTicks(t0, t1, target = 6) {
  const step = TIME_STEPS.find((st) => (t1 - t0) / st <= target) || (t1 - t0) / target;
  const offset = -new Date(t0).getTimezoneOffset() * 60000;
  const ticks = [];
  for (let t = Math.ceil((t0 + offset) / step) * step - offset; t <= t1; t += step) ticks.push(t);
  const fmt = (t) => {
    const text = fmtLocal(t);
    if (step < 1000) return text.slice(11);
    if (step < 86400000) return t1 - t0 < 86400000 ? text.slice(11, 19) : text.slice(5, 16);
    return text.slice(0, 10);
  };
  return ticks.map((t) => [t, fmt(t)]);
}

async function loadChart(ctx) {
  const body = await api('stock_series', { product_id: ctx.productId, max_points: 500 });
  if (ctx.generation !== app.generation) return;
  const box = $('#chart-box');
  ctx.chart = drawChart(body.points || []);
  box.replaceChildren(ctx.chart.element);
  const asOf = $('#asof')?.dataset.asOf;
  if (asOf) ctx.chart.markAsOf(Date.parse(asOf));
}

// A step plot of on hand (solid) and available (dashed) per warehouse.
function drawChart(points) {
  if (points.length === 0) {
    return { element: h('p', { class: 'muted' }, 'No events yet.'), markAsOf() {} };
  }
  const W = 1000; const H = 300;
  const M = { left: 64, right: 20, top: 14, bottom: 48 };
  const series = new Map(); // warehouse -> [{t, onHand, available, point}]
  for (const p of points) {
    const t = Date.parse(p.recordedAt);
    for (const w of p.warehouses || []) {
      if (!series.has(w.warehouseId)) series.set(w.warehouseId, []);
      series.get(w.warehouseId).push({ t, onHand: num(w.onHand), available: num(w.available), point: p });
    }
  }
  let t0 = Date.parse(points[0].recordedAt);
  let t1 = Date.parse(points[points.length - 1].recordedAt);
  if (t1 - t0 < 1000) { t0 -= 30000; t1 += 30000; }
  const span = t1 - t0;
  t1 += span * 0.02;
  const values = [...series.values()].flat().flatMap((v) => [v.onHand, v.available]);
  const yMin = Math.min(0, ...values);
  const rawMax = Math.max(1, ...values);
  const yStep = niceStep(rawMax - yMin, 5);
  const yMax = Math.ceil(rawMax / yStep) * yStep;
  const x = (t) => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const y = (v) => H - M.bottom - ((v - yMin) / (yMax - yMin)) * (H - M.top - M.bottom);

  const svgEl = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', id: 'chart', role: 'img', 'aria-labelledby': 'chart-title' },
    s('title', { id: 'chart-title' }, 'On hand (solid) and available (dashed) per warehouse over time'));
  const grid = s('g', { class: 'grid' });
  for (let v = Math.ceil(yMin / yStep) * yStep; v <= yMax; v += yStep) {
    append(grid, [s('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }),
      s('text', { x: M.left - 8, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, String(v))]);
  }
  for (const [t, text] of timeTicks(t0, t1)) {
    append(grid, [s('line', { x1: x(t), x2: x(t), y1: M.top, y2: H - M.bottom, class: 'v' }),
      s('text', { x: x(t), y: H - M.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, text)]);
  }
  append(grid, [
    s('line', { x1: M.left, x2: W - M.right, y1: y(Math.max(yMin, 0)), y2: y(Math.max(yMin, 0)), class: 'axis' }),
    s('line', { x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom, class: 'axis' }),
    s('text', { x: (M.left + W - M.right) / 2, y: H - 8, 'text-anchor': 'middle', class: 'axis-label' }, `time (local, ${zoneLabel()})`),
    s('text', { x: 16, y: (M.top + H - M.bottom) / 2, 'text-anchor': 'middle', class: 'axis-label', transform: `rotate(-90 16 ${(M.top + H - M.bottom) / 2})` }, 'units'),
  ]);
  svgEl.append(grid);

  const legend = h('ul', { class: 'legend', id: 'chart-legend' });
  const marks = s('g', { class: 'marks' });
  let index = 0;
  for (const [warehouse, rows] of series) {
    const color = PALETTE[index % PALETTE.length];
    index += 1;
    for (const [measure, dash, text] of [['onHand', null, 'on hand'], ['available', '6 4', 'available']]) {
      let d = '';
      rows.forEach((r, i) => {
        d += i === 0 ? `M${x(r.t).toFixed(1)} ${y(r[measure]).toFixed(1)}`
          : `H${x(r.t).toFixed(1)}V${y(r[measure]).toFixed(1)}`;
      });
      d += `H${x(t1).toFixed(1)}`;
      svgEl.append(s('path', {
        d, class: 'series', fill: 'none', stroke: color, 'stroke-width': measure === 'onHand' ? 2.2 : 1.6,
        'stroke-dasharray': dash, 'data-warehouse': warehouse, 'data-measure': measure,
      }, s('title', null, `${warehouse} ${text}`)));
      for (const r of rows) {
        marks.append(s('circle', {
          cx: x(r.t).toFixed(1), cy: y(r[measure]).toFixed(1), r: measure === 'onHand' ? 3.2 : 2.4,
          fill: measure === 'onHand' ? color : '#fff', stroke: color, 'stroke-width': 1.4, class: 'point',
        }, s('title', null, `${warehouse} · ${fmtLocal(r.t)} · v${num(r.point.version)} ${r.point.type}\n` +
          `on hand ${r.onHand} · available ${r.available}`)));
      }
      legend.append(h('li', null, append(s('svg', { width: 28, height: 10, 'aria-hidden': 'true' }),
        [s('line', { x1: 1, x2: 27, y1: 5, y2: 5, stroke: color, 'stroke-width': 2.2, 'stroke-dasharray': dash })]),
      ` ${warehouse} ${text}`));
    }
  }
  svgEl.append(marks);
  const asOfLine = s('g', { class: 'asof-mark', visibility: 'hidden' },
    s('line', { y1: M.top, y2: H - M.bottom, x1: 0, x2: 0 }),
    s('text', { y: M.top + 10, x: 0, class: 'tick' }, 'as of'));
  svgEl.append(asOfLine);
  legend.append(h('li', { class: 'muted' }, `${points.length} events; hover a point for its figures`));

  return {
    element: h('div', { class: 'chart-wrap' }, svgEl, legend),
    markAsOf(ms) {
      if (Number.isNaN(ms) || ms < t0 || ms > t1) { asOfLine.setAttribute('visibility', 'hidden'); return; }
      for (const el of asOfLine.children) { el.setAttribute('x1', x(ms)); el.setAttribute('x2', x(ms)); }
      asOfLine.lastChild.setAttribute('x', x(ms) + 4);
      asOfLine.setAttribute('visibility', 'visible');
    },
  };
}

// ---------------------------------------------------------------- correlation

function correlationView(view, correlationId) {
  document.title = `Correlation ${correlationId} · ${app.service} console`;
  const generation = app.generation;
  const tbody = h('tbody');
  const more = h('button', { type: 'button', id: 'correlation-more', hidden: true }, 'More');
  const count = h('span', { class: 'muted', id: 'correlation-count' });
  const table = h('table', { id: 'correlation', class: 'events' },
    h('caption', { class: 'visually-hidden' }, 'Events of the correlation, oldest first'),
    h('thead', null, h('tr', null, ['Time', 'Service', 'Stream', 'Version', 'Type', 'Who', 'Why', 'Data']
      .map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  append(view, [h('h1', null, 'Correlation ', h('span', { class: 'id' }, correlationId)),
    h('p', { class: 'muted' }, 'Every event recorded under this correlation id, oldest first. ', count),
    table, h('div', { class: 'more' }, more)]);
  let token = '';

  function streamCell(event) {
    const stream = event.streamId || '';
    if (app.service === 'inventory' && event.service === 'inventory' && stream.startsWith('product-')) {
      return h('a', { href: `#/product/${encodeURIComponent(stream.slice('product-'.length))}` }, stream);
    }
    return stream;
  }

  function row(event) {
    const data = parseJson(event.dataJson);
    const meta = parseJson(event.metadataJson);
    return h('tr', { 'data-type': event.type, 'data-service': event.service || '', 'data-recorded-at': event.recordedAt },
      h('td', { class: 'time' }, timeEl(event.recordedAt)),
      h('td', null, h('span', { class: `svc svc-${event.service === 'cart' ? 'cart' : 'inventory'}` }, event.service || '?')),
      h('td', { class: 'stream' }, streamCell(event)),
      h('td', { class: 'n' }, String(num(event.version))),
      h('td', { class: 'type' }, h('span', { class: `tag t-${event.type.split('.')[0]}` }, event.type)),
      h('td', null, whoEl(meta)),
      h('td', { class: 'why' }, whyText(data) || h('span', { class: 'muted' }, '—')),
      h('td', { class: 'data' }, summaryEl(data, { skip: WHY_KEYS }), rawEl(event)));
  }

  async function load() {
    more.disabled = true;
    const body = await api('correlation', { correlation_id: correlationId, page_token: token });
    if (generation !== app.generation) return;
    append(tbody, (body.events || []).map(row));
    if (!tbody.children.length) {
      tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 8, class: 'muted' }, 'No events carry this correlation id.')));
    }
    token = body.nextPageToken || '';
    more.hidden = !token;
    more.disabled = false;
    const services = new Set([...tbody.querySelectorAll('tr[data-service]')].map((r) => r.dataset.service));
    count.textContent = `${tbody.querySelectorAll('tr[data-type]').length} events from ${[...services].join(' and ') || 'no service'}${token ? '; more follow' : ''}.`;
    table.dataset.loaded = String(Date.now());
  }
  more.addEventListener('click', () => guarded(generation, load));
  guarded(generation, load);
}

// ---------------------------------------------------------------- live

const STATUS_TEXT = {
  connecting: 'connecting', 'catching-up': 'catching up', live: 'live (caught up)',
  paused: 'paused', error: 'error, retrying',
};

// One service's event stream: an EventSource reopened from the last
// position after a pause or an error, so that no event is lost.
class LiveColumn {
  constructor(service, filters) {
    this.service = service;
    this.filters = filters;
    this.position = 'end';
    this.seen = new Set();
    this.source = null;
    this.retry = null;
    this.status = h('span', { class: 'status', 'data-status': 'connecting', role: 'status' });
    this.count = h('span', { class: 'muted count' });
    this.tbody = h('tbody');
    this.waiting = h('p', { class: 'muted waiting' }, 'No events yet: new ones appear here as they commit.');
    this.element = h('section', { class: 'live-col', 'data-service': service, 'aria-labelledby': `live-h-${service}` },
      h('div', { class: 'live-head' }, h('h2', { id: `live-h-${service}` }, service), this.status, this.count),
      h('table', { class: 'events live' },
        h('caption', { class: 'visually-hidden' }, `${service} events, newest first`),
        h('colgroup', null, h('col', { class: 'c-time' }), h('col', { class: 'c-type' }), h('col'), h('col', { class: 'c-who' })),
        h('thead', null, h('tr', null, ['Time · stream', 'Type', 'Data', 'Who · correlation']
          .map((t) => h('th', { scope: 'col' }, t)))),
        this.tbody),
      this.waiting);
    this.setCount();
  }

  setStatus(status, detail = '') {
    this.status.dataset.status = status;
    this.status.textContent = STATUS_TEXT[status] + detail;
  }

  setCount() {
    this.waiting.hidden = this.tbody.children.length > 0;
    this.count.textContent = `${this.tbody.children.length} shown (last ${LIVE_MAX_ROWS} kept) · from ${this.position}`;
  }

  url() {
    const query = new URLSearchParams({ service: this.service, from_position: this.position });
    if (this.filters.streamPrefix) query.append('stream_prefix', this.filters.streamPrefix);
    for (const type of this.filters.types) query.append('types', type);
    return `/api/live?${query}`;
  }

  open() {
    this.closeSource();
    this.setStatus('connecting');
    const source = new EventSource(this.url());
    this.source = source;
    source.addEventListener('open', () => {
      if (this.source === source && this.status.dataset.status === 'connecting') this.setStatus('catching-up');
    });
    source.addEventListener('message', (e) => {
      if (this.source === source) this.receive(e.data);
    });
    source.addEventListener('error', () => {
      if (this.source !== source) return;
      this.closeSource();
      this.setStatus('error', ` in ${LIVE_RETRY_MS / 1000} s`);
      this.retry = setTimeout(() => this.open(), LIVE_RETRY_MS);
    });
  }

  receive(text) {
    let message;
    try { message = JSON.parse(text); } catch { return; }
    for (const event of message.events || []) {
      if (event.position) this.position = event.position;
      const key = event.eventId || event.position;
      if (key && this.seen.has(key)) continue;
      if (key) this.seen.add(key);
      this.tbody.prepend(this.row(event));
    }
    while (this.tbody.children.length > LIVE_MAX_ROWS) {
      this.seen.delete(this.tbody.lastElementChild.dataset.key);
      this.tbody.lastElementChild.remove();
    }
    if (message.position) this.position = message.position;
    if (message.caughtUp) this.setStatus('live');
    else if (this.status.dataset.status === 'connecting') this.setStatus('catching-up');
    this.setCount();
  }

  row(event) {
    const data = parseJson(event.dataJson);
    const meta = parseJson(event.metadataJson);
    const stream = event.streamId || '';
    return h('tr', { class: 'fresh', 'data-type': event.type, 'data-key': event.eventId || event.position || '', 'data-position': event.position || '' },
      h('td', { class: 'time' }, timeEl(event.recordedAt),
        h('span', { class: 'stream' },
          this.service === 'inventory' && app.service === 'inventory' && stream.startsWith('product-')
            ? h('a', { href: `#/product/${encodeURIComponent(stream.slice(8))}` }, stream) : stream,
          h('span', { class: 'muted' }, ` v${num(event.version)}`))),
      h('td', { class: 'type' }, h('span', { class: `tag t-${(event.type || '').split('.')[0]}` }, event.type)),
      h('td', { class: 'data' }, summaryEl(data)),
      h('td', null, whoEl(meta), correlationLink(meta)));
  }

  closeSource() {
    clearTimeout(this.retry);
    this.retry = null;
    if (this.source) this.source.close();
    this.source = null;
  }

  pause() {
    this.closeSource();
    this.setStatus('paused');
  }

  clear() {
    this.tbody.replaceChildren();
    this.seen.clear();
    this.setCount();
  }
}

function liveView(view) {
  document.title = `Live · ${app.service} console`;
  const services = [app.service, ...app.peers];
  const prefix = h('input', { id: 'live-prefix', placeholder: 'product-', autocomplete: 'off' });
  const types = h('input', { id: 'live-types', placeholder: 'stock.reserved, item.added', autocomplete: 'off', size: '34' });
  const pause = h('button', { type: 'button', id: 'live-pause', 'aria-pressed': 'false' }, 'Pause');
  const filters = () => ({
    streamPrefix: prefix.value.trim(),
    types: types.value.split(',').map((t) => t.trim()).filter(Boolean),
  });
  const columns = services.map((service) => new LiveColumn(service, filters()));
  let paused = false;
  const form = h('form', { class: 'filters', id: 'live-filters' },
    h('div', { class: 'field' }, h('label', { for: 'live-prefix' }, 'Stream prefix'), prefix),
    h('div', { class: 'field' }, h('label', { for: 'live-types' }, 'Types (comma-separated)'), types),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit' }, 'Apply'), pause));
  append(view, [
    h('div', { class: 'title-row' }, h('h1', null, 'Live events'),
      h('p', { class: 'muted' }, 'Newest on top. Pausing closes the streams; resuming continues from the last position received, so nothing is missed. New filters apply from the current position on.')),
    form,
    h('div', { class: `live-cols n${columns.length}` }, columns.map((c) => c.element)),
  ]);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    for (const c of columns) {
      c.filters = filters();
      c.clear();
      if (!paused) c.open();
    }
  });
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    for (const c of columns) { if (paused) c.pause(); else c.open(); }
  });
  for (const c of columns) c.open();
  app.cleanup.push(() => { for (const c of columns) c.closeSource(); });
}

// ---------------------------------------------------------------- start

async function start() {
  $('#zone').textContent = `times: local, ${zoneLabel()}`;
  try {
    const info = await api('console');
    app.service = info.service || 'unknown';
    app.peers = info.peers || [];
  } catch (error) {
    app.service = 'unknown';
    app.startError = error;
  }
  $('#service-name').textContent = app.service;
  document.body.dataset.service = app.service;
  window.addEventListener('hashchange', render);
  render();
  if (app.startError) showError(app.startError);
}

start();
