/*
 * cityops cockpit (一屏观全城): the page's logic.
 *
 * Plain ES2020 without a build step, library or external resource. The page lives all day
 * on the operations centre's video wall, so it is written to run unattended:
 *
 *  - every figure comes from the cockpit's JSON API (docs/cockpit.md); the non-live panels
 *    refresh every 15 s, the live feed comes over server-sent events (api/v1/stream);
 *  - a failed request never throws into the console: the panel keeps its last figures,
 *    dims, a banner says 数据暂不可用 and the request is retried after 5 s;
 *  - the filters (district, scenario) live in the URL query, so a link reproduces a view;
 *  - strings from the API reach the DOM only through textContent, createTextNode,
 *    setAttribute or new Option(): never as HTML;
 *  - memory stays bounded: the feed keeps a fixed number of items, the map is rebuilt in
 *    place.
 *
 * Sections: settings · small helpers · time · API access · state and filters · meta ·
 * KPIs · scenarios · map · feed · orders · live stream · refresh loop · start.
 */
'use strict';

(function cockpit() {
  // =========================================================================== Settings

  /** Relative, so the page also works under a reverse-proxy path prefix. */
  const API = 'api/v1/';
  const REFRESH_MS = 15000; // non-live panels
  const RETRY_MS = 5000; // after a failed request
  const META_REFRESH_MS = 10 * 60 * 1000; // catalogue names and the server clock
  const FETCH_TIMEOUT_MS = 10000;
  const STREAM_RETRY_MIN_MS = 3000; // when EventSource gave up (it retries by itself otherwise)
  const STREAM_RETRY_MAX_MS = 30000;

  const FEED_SHOWN = 50; // items in the live feed
  const FEED_LIVE_KEPT = 300; // live items remembered, so a filter change can show older ones
  const PULSE_MS = 60000; // how long a live incident pulses on the map
  const LIMITS = { incidents: 500, overdue: 100, triage: 50 };

  /** China Standard Time: UTC+8 all year (no daylight saving since 1991) = Asia/Shanghai. */
  const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;
  const DAY_MS = 24 * 3600 * 1000;

  /** Severity ids are fixed by the catalogue; the names come from /meta. */
  const SEVERITIES = ['critical', 'urgent', 'normal', 'info'];
  const SEVERITY_FALLBACK_NAMES = { critical: '特急', urgent: '紧急', normal: '一般', info: '咨询/信息' };
  const STATUS_NAMES = {
    created: '已创建',
    dispatched: '待签收',
    accepted: '已签收',
    in_progress: '处置中',
    resolved: '已办结',
    closed: '已结案',
    returned: '已退单',
    reopened: '重办中',
  };
  const CLOCK_NAMES = { accept: '签收', resolve: '办结' };
  const WARNING_NAMES = { red: '红灯', yellow: '黄灯' };

  /** Rate tiles: data-kpi attribute = field of summary.today / summary.last_7_days. */
  const RATE_FIELDS = ['response_rate', 'resolve_rate', 'satisfaction_rate', 'on_time_rate'];

  /** The map's inset shows the dense core: streets smaller than this share of the median. */
  const CORE_STREET_AREA_RATIO = 0.25;

  // =========================================================================== Small helpers

  const $ = (id) => document.getElementById(id);

  /** A string from the API, or '' (numbers are accepted: codes may come as integers). */
  function str(v) {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    return '';
  }

  /** A finite number from the API, or null. */
  function num(v) {
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  }

  function arr(v) {
    return Array.isArray(v) ? v : [];
  }

  function obj(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
  }

  function sevId(v) {
    return SEVERITIES.includes(v) ? v : 'info';
  }

  /**
   * Creates an HTML element. `props`: class, text (textContent) and attributes; children:
   * nodes or strings (appended as text nodes). Never parses HTML.
   */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    setProps(node, props);
    for (const child of children) {
      if (child !== null && child !== undefined && child !== '') node.append(child);
    }
    return node;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';

  /** Creates an SVG element with attributes (same `props` as h()). */
  function s(tag, props) {
    const node = document.createElementNS(SVG_NS, tag);
    setProps(node, props);
    return node;
  }

  function setProps(node, props) {
    if (!props) return;
    for (const key of Object.keys(props)) {
      const value = props[key];
      if (value === null || value === undefined || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else node.setAttribute(key, String(value));
    }
  }

  /**
   * Puts `nodes` into `parent` in this order with as few DOM moves as possible: a node that
   * stays where it is is not touched (so its CSS animation does not restart).
   */
  function reconcile(parent, nodes) {
    nodes.forEach((node, i) => {
      const current = parent.children[i];
      if (current !== node) parent.insertBefore(node, current || null);
    });
    while (parent.children.length > nodes.length) parent.lastElementChild.remove();
  }

  const numberFormat = new Intl.NumberFormat('zh-CN');

  function fmtCount(v) {
    const n = num(v);
    return n === null ? '—' : numberFormat.format(n);
  }

  /** "95.2%" (or "100%"), "—" when there was nothing to divide by (null). */
  function fmtRate(v) {
    const r = num(v);
    if (r === null) return '—';
    const pct = Math.min(1, Math.max(0, r)) * 100;
    return (pct === 100 ? '100' : pct.toFixed(1)) + '%';
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function rootFontPx() {
    const px = parseFloat(getComputedStyle(document.documentElement).fontSize);
    return Number.isFinite(px) && px > 0 ? px : 16;
  }

  // =========================================================================== Time

  /** Browser clock corrected by the server's (/meta now_ms): wall PCs drift. */
  let clockOffsetMs = 0;

  function serverNow() {
    return Date.now() + clockOffsetMs;
  }

  /** Fields of an instant in Shanghai local time (fixed UTC+8, see SHANGHAI_OFFSET_MS). */
  function local(ms) {
    const d = new Date(ms + SHANGHAI_OFFSET_MS);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      weekday: d.getUTCDay(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    };
  }

  const pad2 = (n) => String(n).padStart(2, '0');
  const WEEKDAYS = ['日', '一', '二', '三', '四', '五', '六'];

  function fmtHMS(ms) {
    const t = local(ms);
    return `${pad2(t.hour)}:${pad2(t.minute)}:${pad2(t.second)}`;
  }

  function fmtHM(ms) {
    const t = local(ms);
    return `${pad2(t.hour)}:${pad2(t.minute)}`;
  }

  /** "16:00" today, "11-20 16:00" on another day. */
  function fmtWhen(ms) {
    const t = local(ms);
    const today = local(serverNow());
    const sameDay = t.year === today.year && t.month === today.month && t.day === today.day;
    return sameDay ? fmtHM(ms) : `${pad2(t.month)}-${pad2(t.day)} ${fmtHM(ms)}`;
  }

  function fmtDate(ms) {
    const t = local(ms);
    return `${t.year}年${t.month}月${t.day}日 星期${WEEKDAYS[t.weekday]}`;
  }

  /** Start of the current local day (Asia/Shanghai), in ms since the epoch. */
  function startOfTodayMs() {
    const now = serverNow();
    return Math.floor((now + SHANGHAI_OFFSET_MS) / DAY_MS) * DAY_MS - SHANGHAI_OFFSET_MS;
  }

  /** A duration in words: "35分钟", "2小时5分", "3天4小时". */
  function fmtSpan(ms) {
    const minutes = Math.floor(Math.abs(ms) / 60000);
    if (minutes < 1) return '不足1分钟';
    if (minutes < 60) return `${minutes}分钟`;
    const hours = Math.floor(minutes / 60);
    const m = minutes % 60;
    if (hours < 24) return m ? `${hours}小时${m}分` : `${hours}小时`;
    const days = Math.floor(hours / 24);
    const hh = hours % 24;
    return hh ? `${days}天${hh}小时` : `${days}天`;
  }

  // =========================================================================== API access

  /** A request that failed (network, timeout, HTTP status, not JSON): retried, never thrown. */
  class FetchFailure extends Error {
    constructor(message, status) {
      super(message);
      this.name = 'FetchFailure';
      this.status = status || 0;
    }
  }

  /**
   * GET api/v1/<path>?<params> as JSON. Empty parameters are left out (the server refuses
   * empty values). `signal` aborts it (a newer refresh superseded it). Rejects with a
   * FetchFailure or, when aborted by `signal`, an AbortError.
   */
  async function getJSON(path, params, signal) {
    const url = new URL(API + path, document.baseURI);
    for (const key of Object.keys(params || {})) {
      const value = params[key];
      if (value !== '' && value !== null && value !== undefined) url.searchParams.set(key, String(value));
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), FETCH_TIMEOUT_MS);
    const forward = () => timeout.abort();
    if (signal) {
      if (signal.aborted) timeout.abort();
      else signal.addEventListener('abort', forward, { once: true });
    }
    try {
      let response;
      try {
        response = await fetch(url, {
          signal: timeout.signal,
          cache: 'no-store',
          headers: { Accept: 'application/json' },
        });
      } catch (err) {
        if (signal && signal.aborted) throw err;
        throw new FetchFailure(timeout.signal.aborted ? '请求超时' : '网络不可用');
      }
      if (!response.ok) {
        let message = `HTTP ${response.status}`;
        try {
          const body = await response.json();
          if (body && typeof body.error === 'string') message = body.error;
        } catch (_) {
          // not JSON: keep the status
        }
        throw new FetchFailure(message, response.status);
      }
      let body;
      try {
        body = await response.json();
      } catch (err) {
        if (signal && signal.aborted) throw err;
        throw new FetchFailure('响应不是 JSON');
      }
      if (body === null || typeof body !== 'object') throw new FetchFailure('响应格式不对');
      return body;
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', forward);
    }
  }

  // =========================================================================== State and filters

  const state = {
    meta: null,
    metaAt: 0,
    names: {
      scenarios: new Map(), // id → name, catalogue order
      severities: new Map(),
      districts: new Map(), // code → name
      streets: new Map(), // code → { name, parent }
    },
    filters: { district: '', street: '', scenario: '' },
    geo: null, // prepared GeoJSON, see prepareGeo()
    grids: null, // { street, features }: the grids of the selected street, see loadGrids()
    data: { summary: null, scenarios: null, streets: null, grids: null, incidents: [] },
    failed: new Map(), // source name → message, for the banner and the stale panels
    lastSuccessMs: 0,
    refreshTimer: 0,
    refreshController: null,
    streamDown: false,
    map: null, // the views currently drawn, see renderMap()
    today: 0, // start of the local day the panels show
  };

  /** Which panel each data source feeds (dimmed while its source fails). */
  const PANEL_OF = {
    meta: null,
    geo: 'panel-map',
    summary: 'panel-kpis',
    scenarios: 'panel-scenarios',
    streets: 'panel-map',
    grids: 'panel-map',
    'grid-shapes': 'panel-map',
    incidents: 'panel-map',
    overdue: 'panel-overdue',
    triage: 'panel-triage',
  };

  function readFiltersFromUrl() {
    const q = new URLSearchParams(location.search);
    state.filters = {
      district: q.get('district') || '',
      street: q.get('street') || '',
      scenario: q.get('scenario') || '',
    };
  }

  /** The URL always says what the wall shows (replaceState: no history entry per change). */
  function writeFiltersToUrl() {
    const q = new URLSearchParams(location.search);
    for (const key of ['district', 'street', 'scenario']) {
      if (state.filters[key]) q.set(key, state.filters[key]);
      else q.delete(key);
    }
    const query = q.toString();
    history.replaceState(history.state, '', location.pathname + (query ? `?${query}` : '') + location.hash);
  }

  /**
   * Drops filter values the catalogue or the geography does not know (an old link): the server
   * would refuse them. A street belongs to the selected district (a street alone selects its
   * district); until the geography is loaded, a street of the district's code is kept.
   */
  function validFilters(filters) {
    const known = state.names.streets.get(filters.street);
    const shaped = /^\d{9}$/.test(filters.street);
    const parent = known ? known.parent : !state.geo && shaped ? filters.street.slice(0, 6) : '';
    const district = state.names.districts.has(filters.district)
      ? filters.district
      : state.names.districts.has(parent)
        ? parent
        : '';
    const streetOk = state.geo ? Boolean(known) && known.parent === district : shaped && parent === district;
    return {
      district,
      street: district && streetOk ? filters.street : '',
      scenario: state.names.scenarios.has(filters.scenario) ? filters.scenario : '',
    };
  }

  function sameFilters(a, b) {
    return a.district === b.district && a.street === b.street && a.scenario === b.scenario;
  }

  function matchesFilters(item) {
    const { district, scenario } = state.filters;
    return (!district || item.district_code === district) && (!scenario || item.scenario === scenario);
  }

  /** Changes the filters: URL, controls, what can be redrawn at once, then refetches. */
  function setFilters(patch) {
    // Another district leaves the street behind.
    const street = 'district' in patch && !('street' in patch) ? { street: '' } : {};
    const next = validFilters({ ...state.filters, ...street, ...patch });
    if (sameFilters(next, state.filters)) {
      syncControls();
      return;
    }
    const placeChanged = next.district !== state.filters.district || next.street !== state.filters.street;
    const streetChanged = next.street !== state.filters.street;
    state.filters = next;
    writeFiltersToUrl();
    syncControls();
    updateTitles();
    markScenarioSelection();
    if (streetChanged) {
      state.data.grids = null;
      loadGrids();
    }
    if (placeChanged) renderMap();
    else renderMapData();
    renderFeed();
    refresh();
  }

  function syncControls() {
    for (const key of ['district', 'scenario']) {
      const select = $(`filter-${key}`);
      const wanted = state.filters[key];
      if (select.value !== wanted) select.value = wanted;
      if (select.value !== wanted) select.value = ''; // option not there (yet)
      select.classList.toggle('active', wanted !== '');
    }
  }

  function bindControls() {
    $('filters').addEventListener('submit', (e) => e.preventDefault());
    $('filter-district').addEventListener('change', (e) => setFilters({ district: e.target.value }));
    $('filter-scenario').addEventListener('change', (e) => setFilters({ scenario: e.target.value }));
  }

  function districtName(code) {
    return state.names.districts.get(code) || code;
  }

  function scenarioName(id) {
    return state.names.scenarios.get(id) || id;
  }

  function severityName(id) {
    return state.names.severities.get(id) || SEVERITY_FALLBACK_NAMES[id] || id;
  }

  /** "铁西区 兴华街道", from a district and/or street code. */
  function placeName(districtCode, streetCode) {
    const street = streetCode ? state.names.streets.get(streetCode) : null;
    const dCode = districtCode || (street && street.parent) || (/^\d{9}$/.test(streetCode) ? streetCode.slice(0, 6) : '');
    const parts = [];
    if (dCode) parts.push(districtName(dCode));
    if (street) parts.push(street.name);
    else if (streetCode) parts.push(streetCode);
    return parts.length ? parts.join(' ') : '位置未知';
  }

  /** A work order's street key: a street code, a district code or "unlocated". */
  function placeOfKey(key) {
    if (/^\d{9}$/.test(key)) return placeName('', key);
    if (/^\d{6}$/.test(key)) return placeName(key, '');
    return '位置未知';
  }

  function districtOfKey(key) {
    return /^\d{6}/.test(key) ? key.slice(0, 6) : '';
  }

  function updateTitles() {
    const { district, street, scenario } = state.filters;
    const streetName = street ? (state.names.streets.get(street) || { name: street }).name : '';
    let title = `${district ? districtName(district) : '全市'}${streetName ? ` ${streetName}` : ''}态势`;
    if (scenario) title += ` · ${scenarioName(scenario)}`;
    $('map-title').textContent = title;
  }

  // =========================================================================== Failures

  function markOk(source) {
    state.lastSuccessMs = serverNow();
    if (state.failed.delete(source)) showFailures();
  }

  function markFailed(source, err) {
    state.failed.set(source, err && err.message ? err.message : String(err));
    showFailures();
  }

  function showFailures() {
    const banner = $('banner');
    banner.hidden = state.failed.size === 0;
    if (!banner.hidden) {
      const last = state.lastSuccessMs ? `最后更新 ${fmtHMS(state.lastSuccessMs)} · ` : '';
      $('banner-detail').textContent = `${last}正在重试`;
      banner.title = [...state.failed.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
    }
    const stale = new Set();
    for (const source of state.failed.keys()) if (PANEL_OF[source]) stale.add(PANEL_OF[source]);
    for (const id of new Set(Object.values(PANEL_OF))) {
      if (id) $(id).classList.toggle('stale', stale.has(id));
    }
  }

  /** Calls `fn` until it succeeds, marking `source` failed meanwhile. */
  async function untilLoaded(source, fn) {
    for (;;) {
      try {
        const result = await fn();
        markOk(source);
        return result;
      } catch (err) {
        if (!(err instanceof FetchFailure)) console.error(`cockpit: ${source}:`, err);
        markFailed(source, err);
        await sleep(RETRY_MS);
      }
    }
  }

  // =========================================================================== Meta

  async function loadMeta(signal) {
    const sentAt = Date.now();
    const meta = await getJSON('meta', null, signal);
    const receivedAt = Date.now();
    const nowMs = num(meta.now_ms);
    // The server's clock, at the middle of the round trip.
    if (nowMs !== null && nowMs > 0) clockOffsetMs = nowMs - (sentAt + receivedAt) / 2;
    applyMeta(meta);
  }

  function namedList(list, key) {
    const map = new Map();
    for (const item of arr(list)) {
      const id = str(obj(item)[key]);
      if (id) map.set(id, str(item.name) || id);
    }
    return map;
  }

  function applyMeta(meta) {
    state.meta = meta;
    state.metaAt = Date.now();
    state.names.scenarios = namedList(meta.scenarios, 'id');
    state.names.severities = namedList(meta.severities, 'id');
    const districts = namedList(meta.districts, 'code');
    if (districts.size) state.names.districts = districts;

    const city = str(meta.city);
    if (city) {
      $('title').textContent = `${city}城市运行管理中心`;
      document.title = `${city}城市运行管理中心 · 一屏观全城`;
    }

    fillSelect($('filter-district'), '全市', state.names.districts);
    fillSelect($('filter-scenario'), '全部场景', state.names.scenarios);
    renderSeverityLegend();
    ensureScenarioRows();
    rebuildFeed();

    const valid = validFilters(state.filters);
    if (!sameFilters(valid, state.filters)) {
      // Only before the first refresh, or when the catalogue dropped what was selected.
      state.filters = valid;
      writeFiltersToUrl();
      if (state.map) renderMap();
      if (state.refreshTimer || state.refreshController) setTimeout(refresh, 0);
    }
    syncControls();
    updateTitles();
    markScenarioSelection();
  }

  function fillSelect(select, allLabel, entries) {
    const options = [new Option(allLabel, '')];
    for (const [value, label] of entries) options.push(new Option(label, value));
    select.replaceChildren(...options);
  }

  // =========================================================================== KPIs

  function renderSummary(body) {
    state.data.summary = body;
    const today = obj(body.today);
    const week = obj(body.last_7_days);

    for (const tile of document.querySelectorAll('[data-kpi]')) {
      const key = tile.dataset.kpi;
      if (!RATE_FIELDS.includes(key)) continue;
      setRate(tile.querySelector('[data-field="today"]'), today[key]);
      tile.querySelector('[data-field="last_7_days"]').textContent = fmtRate(week[key]);
    }

    $('kpi-orders').textContent = `今日工单 ${fmtCount(today.orders)} · 近7日 ${fmtCount(week.orders)}`;

    const warnings = obj(body.warnings);
    setCount('kpi-open-orders', body.open_orders);
    setCount('kpi-yellow', warnings.yellow);
    setCount('kpi-red', warnings.red);
    renderOverdueMeta();
  }

  /** The big rate figure, with a smaller "%". */
  function setRate(node, value) {
    const text = fmtRate(value);
    if (text.endsWith('%')) node.replaceChildren(text.slice(0, -1), h('span', { class: 'unit', text: '%' }));
    else node.replaceChildren(text);
  }

  function setCount(testId, value) {
    const tile = document.querySelector(`[data-testid="${testId}"]`);
    tile.querySelector('[data-field="value"]').textContent = fmtCount(value);
    tile.classList.toggle('nonzero', (num(value) || 0) > 0);
  }

  // =========================================================================== Scenarios

  /** One row per catalogue scenario, in catalogue order (rows keep their place on the wall). */
  function ensureScenarioRows() {
    const tbody = $('scenario-rows');
    const existing = new Map([...tbody.children].map((tr) => [tr.dataset.scenario, tr]));
    const rows = [];
    for (const [id, name] of state.names.scenarios) {
      const row = existing.get(id) || scenarioRow(id);
      row.querySelector('.col-name').textContent = name;
      rows.push(row);
      existing.delete(id);
    }
    // Scenarios the counts know but the catalogue no longer does stay at the end.
    for (const row of existing.values()) rows.push(row);
    reconcile(tbody, rows);
    if (state.data.scenarios) renderScenarios(state.data.scenarios);
  }

  function scenarioRow(id) {
    const row = h(
      'tr',
      { 'data-scenario': id },
      h('td', { class: 'col-name', text: scenarioName(id) }),
      h('td', { class: 'col-num', 'data-field': 'last_hour', text: '—' }),
      h('td', { class: 'col-trend', 'data-field': 'trend', text: '' }),
      h('td', { class: 'col-num col-today', 'data-field': 'today', text: '—' }),
    );
    // Clicking a scenario filters by it (clicking it again shows all scenarios).
    row.addEventListener('click', () =>
      setFilters({ scenario: state.filters.scenario === id ? '' : id }),
    );
    return row;
  }

  function renderScenarios(body) {
    state.data.scenarios = body;
    const tbody = $('scenario-rows');
    const counts = [];
    for (const raw of arr(body.scenarios)) {
      const item = obj(raw);
      const id = str(item.scenario);
      if (!id) continue;
      counts.push({
        id,
        name: str(item.name),
        lastHour: num(item.last_hour),
        today: num(item.today),
        yesterday: num(item.same_hour_yesterday),
      });
    }
    const maxToday = Math.max(1, ...counts.map((c) => c.today || 0));

    for (const c of counts) {
      let row = tbody.querySelector(`tr[data-scenario="${CSS.escape(c.id)}"]`);
      if (!row) {
        row = scenarioRow(c.id);
        tbody.append(row);
      }
      if (!state.names.scenarios.has(c.id) && c.name) row.querySelector('.col-name').textContent = c.name;
      row.querySelector('[data-field="last_hour"]').textContent = fmtCount(c.lastHour);
      const todayCell = row.querySelector('[data-field="today"]');
      todayCell.textContent = fmtCount(c.today);
      todayCell.style.setProperty('--share', `${Math.round(((c.today || 0) / maxToday) * 100)}%`);
      setTrend(row.querySelector('[data-field="trend"]'), c.lastHour, c.yesterday);
      row.classList.toggle('zero', !c.today && !c.lastHour);
    }
    markScenarioSelection();
  }

  /** Last hour against the same hour yesterday: ▲ more (worse), ▼ fewer. */
  function setTrend(cell, now, before) {
    cell.className = 'col-trend';
    if (now === null || before === null) {
      cell.textContent = '—';
      cell.removeAttribute('title');
      return;
    }
    const delta = now - before;
    cell.title = `昨日同时段 ${before}`;
    if (delta > 0) {
      cell.textContent = `▲${delta}`;
      cell.classList.add('trend-up');
    } else if (delta < 0) {
      cell.textContent = `▼${-delta}`;
      cell.classList.add('trend-down');
    } else {
      cell.textContent = '0';
      cell.classList.add('trend-flat');
    }
  }

  function markScenarioSelection() {
    for (const row of $('scenario-rows').children) {
      row.classList.toggle('selected', row.dataset.scenario === state.filters.scenario);
    }
  }

  // =========================================================================== Map

  /** Polygon and MultiPolygon as a list of polygons, each a list of rings of [lon, lat]. */
  function polygonsOf(geometry) {
    const g = obj(geometry);
    const list = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? arr(g.coordinates) : [];
    const polygons = [];
    for (const polygon of list) {
      const rings = [];
      for (const ring of arr(polygon)) {
        const points = arr(ring).filter(
          (p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]),
        );
        if (points.length >= 3) rings.push(points);
      }
      if (rings.length) polygons.push(rings);
    }
    return polygons;
  }

  function ringArea(ring) {
    let twice = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      twice += ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
    }
    return Math.abs(twice) / 2;
  }

  function bboxOf(polygons) {
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    for (const rings of polygons) {
      for (const [lon, lat] of rings[0]) {
        if (lon < b[0]) b[0] = lon;
        if (lat < b[1]) b[1] = lat;
        if (lon > b[2]) b[2] = lon;
        if (lat > b[3]) b[3] = lat;
      }
    }
    return b;
  }

  function unionBBox(boxes) {
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    for (const x of boxes) {
      b[0] = Math.min(b[0], x[0]);
      b[1] = Math.min(b[1], x[1]);
      b[2] = Math.max(b[2], x[2]);
      b[3] = Math.max(b[3], x[3]);
    }
    return b;
  }

  function padBBox(b, ratio) {
    const dx = (b[2] - b[0]) * ratio;
    const dy = (b[3] - b[1]) * ratio;
    return [b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy];
  }

  function intersects(a, b) {
    return a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1];
  }

  /** Width / height of a lon/lat box once longitudes are scaled by cos(latitude). */
  function aspectOf(b) {
    const k = Math.cos((((b[1] + b[3]) / 2) * Math.PI) / 180);
    return ((b[2] - b[0]) * k) / Math.max(1e-9, b[3] - b[1]);
  }

  function prepareFeatures(collection) {
    const features = [];
    for (const raw of arr(obj(collection).features)) {
      const p = obj(obj(raw).properties);
      const code = str(p.code);
      const polygons = polygonsOf(raw.geometry);
      if (!code || !polygons.length) continue;
      const bbox = bboxOf(polygons);
      const c = Array.isArray(p.center) ? p.center : [];
      const center =
        Number.isFinite(c[0]) && Number.isFinite(c[1])
          ? [c[0], c[1]]
          : [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2];
      let area = 0;
      for (const rings of polygons) {
        area += ringArea(rings[0]);
        for (const hole of rings.slice(1)) area -= ringArea(hole);
      }
      features.push({
        code,
        name: str(p.name) || code,
        parent: str(p.parent_code),
        polygons,
        bbox,
        center,
        area,
        generated: p.generated === true,
      });
    }
    return features;
  }

  function prepareGeo(districtsFc, streetsFc) {
    const districts = prepareFeatures(districtsFc);
    const streets = prepareFeatures(streetsFc);
    if (!districts.length) throw new FetchFailure('没有区县边界');
    const cityBBox = padBBox(unionBBox(districts.map((d) => d.bbox)), 0.01);

    // The dense core (市区) gets an inset when it is small within the city: the bbox of the
    // streets much smaller than the median street (Shenyang: the old urban districts).
    let coreBBox = null;
    if (streets.length >= 20) {
      const areas = streets.map((f) => f.area).sort((a, b) => a - b);
      const median = areas[Math.floor(areas.length / 2)];
      const small = streets.filter((f) => f.area < median * CORE_STREET_AREA_RATIO);
      if (small.length >= 5) {
        const b = padBBox(unionBBox(small.map((f) => f.bbox)), 0.04);
        const share = ((b[2] - b[0]) * (b[3] - b[1])) / ((cityBBox[2] - cityBBox[0]) * (cityBBox[3] - cityBBox[1]));
        if (share < 0.12) coreBBox = b;
      }
    }

    for (const d of districts) {
      if (!state.names.districts.has(d.code)) state.names.districts.set(d.code, d.name);
    }
    state.names.streets = new Map(streets.map((f) => [f.code, { name: f.name, parent: f.parent }]));

    const generated =
      obj(districtsFc).generated === true || districts.some((d) => d.generated) || streets.some((f) => f.generated);
    return {
      districts,
      streets,
      districtByCode: new Map(districts.map((d) => [d.code, d])),
      streetByCode: new Map(streets.map((f) => [f.code, f])),
      cityBBox,
      coreBBox,
      generated,
    };
  }

  async function loadGeo() {
    const [districts, streets] = await Promise.all([getJSON('geo/districts'), getJSON('geo/streets')]);
    state.geo = prepareGeo(districts, streets);
    $('map-note').hidden = !state.geo.generated;
    // The street of the address can be checked, and named, now.
    const valid = validFilters(state.filters);
    if (!sameFilters(valid, state.filters)) {
      state.filters = valid;
      writeFiltersToUrl();
      syncControls();
      if (state.refreshTimer || state.refreshController) setTimeout(refresh, 0);
    }
    updateTitles();
    loadGrids();
    renderMap();
    rebuildFeed(); // places now have names
    renderOverdueAndTriagePlaces();
  }

  /**
   * The grids (网格) of the selected street, for the map's street view; nothing without a
   * street. A failure shows on the map panel and is tried again with the next refresh.
   */
  async function loadGrids() {
    const street = state.filters.street;
    if (!street) {
      state.grids = null;
      if (state.failed.delete('grid-shapes')) showFailures();
      return;
    }
    if (state.grids && state.grids.street === street) return;
    try {
      const body = await getJSON('geo/grids', { street });
      if (state.filters.street !== street) return; // another street meanwhile
      state.grids = { street, features: prepareFeatures(body) };
      markOk('grid-shapes');
      renderMap();
    } catch (err) {
      if (state.filters.street !== street) return;
      if (!(err instanceof FetchFailure)) console.error('cockpit: grids:', err);
      markFailed('grid-shapes', err);
    }
  }

  /**
   * Equirectangular projection of a lon/lat box into a pixel box: longitudes scaled by
   * cos(mid-latitude) so shapes keep their proportions at Shenyang's latitude, then fitted
   * (centred, uniform scale) into `box`.
   */
  function makeProjection(bbox, box) {
    const k = Math.cos((((bbox[1] + bbox[3]) / 2) * Math.PI) / 180);
    const gw = Math.max(1e-9, (bbox[2] - bbox[0]) * k);
    const gh = Math.max(1e-9, bbox[3] - bbox[1]);
    const scale = Math.min(box.w / gw, box.h / gh);
    const ox = box.x + (box.w - gw * scale) / 2;
    const oy = box.y + (box.h - gh * scale) / 2;
    return {
      project: (lon, lat) => [ox + (lon - bbox[0]) * k * scale, oy + (bbox[3] - lat) * scale],
      invert: (x, y) => [bbox[0] + (x - ox) / (k * scale), bbox[3] - (y - oy) / scale],
    };
  }

  function pathOf(feature, proj) {
    const parts = [];
    for (const rings of feature.polygons) {
      for (const ring of rings) {
        ring.forEach(([lon, lat], i) => {
          const [x, y] = proj.project(lon, lat);
          parts.push((i ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1));
        });
        parts.push('Z');
      }
    }
    return parts.join('');
  }

  /**
   * Where the views go in the SVG (W×H, in CSS pixels):
   *  - whole city: the city on the left; on the right an inset of the dense core (市区);
   *  - one district: the district large on the left; a small whole-city locator on the right;
   *  - one street: the street and its grids on the left; its district's streets on the right.
   */
  function planViews(W, H, rem) {
    const geo = state.geo;
    const gap = 0.6 * rem;
    const selected = state.filters.district ? geo.districtByCode.get(state.filters.district) : null;
    const street = selected ? geo.streetByCode.get(state.filters.street) : null;
    if (street) {
      // One street: its grids large; its district's streets on the right, to pick another.
      const sideW = Math.round(W * 0.3);
      const sideH = Math.min(H * 0.5, sideW / aspectOf(selected.bbox) + 2 * rem);
      return [
        { kind: 'main', box: { x: 0, y: 0, w: W - sideW - gap, h: H }, bbox: padBBox(street.bbox, 0.04), labels: 'grids' },
        { kind: 'streets', box: { x: W - sideW, y: 0, w: sideW, h: sideH }, bbox: padBBox(selected.bbox, 0.03), title: selected.name },
      ];
    }
    if (selected) {
      const sideW = Math.round(W * 0.26);
      const sideH = Math.min(H * 0.5, sideW / aspectOf(geo.cityBBox) + 2 * rem);
      return [
        { kind: 'main', box: { x: 0, y: 0, w: W - sideW - gap, h: H }, bbox: padBBox(selected.bbox, 0.03), labels: 'streets' },
        { kind: 'locator', box: { x: W - sideW, y: 0, w: sideW, h: sideH }, bbox: geo.cityBBox, title: '全市' },
      ];
    }
    if (geo.coreBBox) {
      const mainW = Math.min(H * aspectOf(geo.cityBBox), W * 0.5);
      const sideW = W - mainW - gap;
      if (sideW > W * 0.3) {
        const sideH = Math.min(H * 0.64, sideW / aspectOf(geo.coreBBox) + 2 * rem);
        return [
          { kind: 'main', box: { x: 0, y: 0, w: mainW, h: H }, bbox: geo.cityBBox, labels: 'districts', insetBBox: geo.coreBBox },
          { kind: 'inset', box: { x: mainW + gap, y: 0, w: sideW, h: sideH }, bbox: geo.coreBBox, title: '市区', labels: 'districts' },
        ];
      }
    }
    return [{ kind: 'main', box: { x: 0, y: 0, w: W, h: H }, bbox: geo.cityBBox, labels: 'districts' }];
  }

  /** Draws the map's structure (views, streets, districts, labels); data goes on in renderMapData(). */
  function renderMap() {
    const svg = $('map');
    const frame = $('map-frame');
    if (!state.geo) return;
    const W = Math.max(200, Math.round(frame.clientWidth));
    const H = Math.max(200, Math.round(frame.clientHeight));
    const rem = rootFontPx();
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);

    const defs = s('defs');
    const nodes = [defs];
    const views = [];
    const selected = state.filters.district;
    const street = state.filters.street;

    for (const plan of planViews(W, H, rem)) {
      const box = plan.box;
      const titleH = plan.title ? 1.6 * rem : 0;
      const pad = 0.35 * rem;
      const inner = {
        x: box.x + pad,
        y: box.y + titleH + pad,
        w: Math.max(10, box.w - 2 * pad),
        h: Math.max(10, box.h - titleH - 2 * pad),
      };
      const proj = makeProjection(plan.bbox, inner);
      const [west, north] = proj.invert(box.x, box.y);
      const [east, south] = proj.invert(box.x + box.w, box.y + box.h);
      const visible = [west, south, east, north];

      const clipId = `map-clip-${plan.kind}`;
      const clip = s('clipPath', { id: clipId });
      clip.append(s('rect', { x: box.x, y: box.y, width: box.w, height: box.h }));
      defs.append(clip);

      const root = s('g', { class: `view view-${plan.kind}` });
      if (plan.kind !== 'main') {
        root.append(s('rect', { class: 'view-bg', x: box.x, y: box.y, width: box.w, height: box.h, rx: 4 }));
      }
      const body = s('g', { 'clip-path': `url(#${clipId})` });
      root.append(body);

      // Smaller dots on the whole city when the inset shows the crowded core in detail.
      const pointR = (plan.insetBBox ? 0.22 : 0.3) * rem;
      const view = { kind: plan.kind, proj, visible, streetPaths: new Map(), gridPaths: new Map(), points: null, pointR };

      if (plan.kind === 'streets') {
        // The selected district's streets, the selected one highlighted. Click: that street
        // (or, on the selected one, back to the district).
        for (const f of state.geo.streets) {
          if (f.parent !== selected) continue;
          const current = f.code === street;
          const path = s('path', {
            class: `district-fill${current ? ' selected' : ''}`,
            d: pathOf(f, proj),
            'fill-rule': 'evenodd',
            'data-code': f.code,
          });
          path.append(s('title', { text: f.name }));
          path.addEventListener('click', () => setFilters({ street: current ? '' : f.code }));
          body.append(path);
        }
      } else if (plan.kind === 'locator') {
        // Whole city, districts only; the selected one highlighted. Click: that district
        // (or, on the selected one, back to the whole city).
        for (const d of state.geo.districts) {
          const path = s('path', {
            class: `district-fill${d.code === selected ? ' selected' : ''}`,
            d: pathOf(d, proj),
            'fill-rule': 'evenodd',
          });
          path.append(s('title', { text: d.name }));
          path.addEventListener('click', () => setFilters({ district: d.code === selected ? '' : d.code }));
          body.append(path);
        }
      } else {
        const streetLayer = s('g', { class: 'streets' });
        for (const f of state.geo.streets) {
          if (!intersects(f.bbox, visible)) continue;
          const outside = (selected !== '' && f.parent !== selected) || (street !== '' && f.code !== street);
          const path = s('path', {
            class: `street q0${outside ? ' outside' : ''}`,
            d: pathOf(f, proj),
            'fill-rule': 'evenodd',
            'data-code': f.code,
          });
          const title = s('title', { text: f.name });
          path.append(title);
          if (f.parent && f.parent !== selected) {
            path.addEventListener('click', () => setFilters({ district: f.parent }));
          } else if (f.parent === selected && f.code !== street) {
            path.addEventListener('click', () => setFilters({ street: f.code }));
          }
          streetLayer.append(path);
          view.streetPaths.set(f.code, { path, title, name: f.name, outside });
        }
        body.append(streetLayer);

        // The selected street's grids (网格), shaded like the streets.
        const grids = plan.labels === 'grids' && state.grids && state.grids.street === street ? state.grids.features : [];
        if (grids.length) {
          const gridLayer = s('g', { class: 'grids' });
          for (const g of grids) {
            const path = s('path', { class: 'grid q0', d: pathOf(g, proj), 'fill-rule': 'evenodd', 'data-code': g.code });
            const title = s('title', { text: g.name });
            path.append(title);
            gridLayer.append(path);
            view.gridPaths.set(g.code, { path, title, name: g.name });
          }
          body.append(gridLayer);
        }

        // District outlines on top of the streets; the selected one highlighted and last.
        const districtLayer = s('g', { class: 'districts' });
        const ordered = state.geo.districts.filter((d) => intersects(d.bbox, visible));
        ordered.sort((a, b) => (a.code === selected) - (b.code === selected));
        for (const d of ordered) {
          districtLayer.append(
            s('path', { class: `district${d.code === selected ? ' selected' : ''}`, d: pathOf(d, proj), 'fill-rule': 'evenodd' }),
          );
        }
        const streetF = state.geo.streetByCode.get(street);
        if (streetF) {
          districtLayer.append(s('path', { class: 'district selected', d: pathOf(streetF, proj), 'fill-rule': 'evenodd' }));
        }
        body.append(districtLayer);

        if (plan.insetBBox) {
          const [x0, y0] = proj.project(plan.insetBBox[0], plan.insetBBox[3]);
          const [x1, y1] = proj.project(plan.insetBBox[2], plan.insetBBox[1]);
          body.append(s('rect', { class: 'inset-box', x: x0, y: y0, width: x1 - x0, height: y1 - y0 }));
        }

        view.points = s('g', { class: 'points' });
        body.append(view.points);

        const labels = s('g', { class: 'labels' });
        const placed = [];
        if (plan.labels === 'districts') {
          for (const d of state.geo.districts) addLabel(labels, placed, d, proj, inner, 'label-district', rem);
        } else if (plan.labels === 'grids') {
          // "兴华街道第3网格" → "第3网格": the street is in the title.
          const streetName = (state.names.streets.get(street) || { name: '' }).name;
          const short = (name) => (streetName && name.startsWith(streetName) ? name.slice(streetName.length) : name);
          for (const g of [...grids].sort((a, b) => b.area - a.area)) {
            addLabel(labels, placed, { ...g, name: short(g.name) }, proj, inner, 'label-grid', 0.75 * rem);
          }
        } else {
          // Larger streets first: they have the room, the small ones take what is left.
          const own = state.geo.streets.filter((f) => f.parent === selected).sort((a, b) => b.area - a.area);
          for (const f of own) addLabel(labels, placed, f, proj, inner, 'label-street', 0.8 * rem);
        }
        body.append(labels);
      }

      if (plan.kind !== 'main') {
        root.append(s('rect', { class: 'view-frame', x: box.x, y: box.y, width: box.w, height: box.h, rx: 4 }));
        root.append(s('text', { class: 'view-title', x: box.x + 0.6 * rem, y: box.y + 1.15 * rem, text: plan.title }));
      }
      nodes.push(root);
      views.push(view);
    }

    svg.replaceChildren(...nodes);
    const side = views.length > 1 ? planViews(W, H, rem)[1].box : null;
    state.map = { views, W, H, side };
    // The legend stays in the side column, off the main view.
    $('map-legend').style.maxWidth = side ? `${Math.round(side.w)}px` : '';
    renderMapData();
  }

  /**
   * A name at the feature's centre, only where it fits inside the feature and the view and
   * does not overlap a label already `placed` (rectangles [x0, y0, x1, y1]).
   */
  function addLabel(layer, placed, feature, proj, inner, cls, fontPx) {
    const [x0, y0] = proj.project(feature.bbox[0], feature.bbox[3]);
    const [x1, y1] = proj.project(feature.bbox[2], feature.bbox[1]);
    const [cx, cy] = proj.project(feature.center[0], feature.center[1]);
    // Full name, else without the 街道/镇/乡 suffix ("兴华街道" → "兴华").
    const candidates = [feature.name, feature.name.replace(/(街道|镇|乡)$/, '')];
    for (const text of candidates) {
      const textW = text.length * fontPx; // CJK characters are one em wide
      const fits = x1 - x0 >= textW * 0.9 && y1 - y0 >= fontPx * 1.3;
      const inside =
        cx - textW / 2 >= inner.x && cx + textW / 2 <= inner.x + inner.w && cy - fontPx / 2 >= inner.y && cy + fontPx / 2 <= inner.y + inner.h;
      const rect = [cx - textW / 2 - 2, cy - fontPx * 0.65, cx + textW / 2 + 2, cy + fontPx * 0.65];
      const free = !placed.some((r) => rect[0] < r[2] && rect[2] > r[0] && rect[1] < r[3] && rect[3] > r[1]);
      if (fits && inside && free && text) {
        placed.push(rect);
        layer.append(s('text', { class: `label ${cls}`, x: cx.toFixed(1), y: cy.toFixed(1), text }));
        return;
      }
    }
  }

  /** Street shading bins: upper bounds of up to five classes over 1..max. */
  function makeBins(max) {
    const uppers = [];
    for (let i = 1; i <= 5; i++) {
      const u = Math.ceil((max * i) / 5);
      if (u > 0 && (!uppers.length || u > uppers[uppers.length - 1])) uppers.push(u);
    }
    return uppers;
  }

  /** Colour class 0..5 of a count: 0 for none, the bins spread over the five steps. */
  function binClass(n, uppers) {
    if (!(n > 0) || !uppers.length) return 0;
    let i = uppers.findIndex((u) => n <= u);
    if (i < 0) i = uppers.length - 1;
    return Math.ceil(((i + 1) * 5) / uppers.length);
  }

  /** Open incidents by area code, from a `/streets` or `/grids` answer. */
  function areaCounts(list, codeKey) {
    const counts = new Map();
    for (const raw of arr(list)) {
      const item = obj(raw);
      const code = str(item[codeKey]);
      const n = num(item.open_incidents);
      if (code && n !== null && n > 0) counts.set(code, n);
    }
    let max = 0;
    let total = 0;
    for (const n of counts.values()) {
      max = Math.max(max, n);
      total += n;
    }
    return { counts, max, total, bins: makeBins(max) };
  }

  /** Street (and, for one street, grid) shading, points and the map's figures from the latest data. */
  function renderMapData() {
    const streets = areaCounts(obj(state.data.streets).streets, 'street_code');
    const grids = areaCounts(obj(state.data.grids).grids, 'grid_code');
    const byGrid = state.filters.street !== '';

    if (state.map) {
      for (const view of state.map.views) {
        for (const [code, entry] of view.streetPaths) {
          const n = streets.counts.get(code) || 0;
          entry.path.setAttribute('class', `street q${binClass(n, streets.bins)}${entry.outside ? ' outside' : ''}`);
          entry.title.textContent = `${entry.name} · 在办事件 ${n}`;
        }
        for (const [code, entry] of view.gridPaths) {
          const n = grids.counts.get(code) || 0;
          entry.path.setAttribute('class', `grid q${binClass(n, grids.bins)}`);
          entry.title.textContent = `${entry.name} · 在办事件 ${n}`;
        }
      }
      renderPoints();
    }
    const shaded = byGrid ? grids : streets;
    $('legend-areas-title').textContent = byGrid ? '网格在办事件' : '街道在办事件';
    renderStreetLegend(shaded.bins);
    renderTopStreets(byGrid ? new Map() : streets.counts, streets.max);

    const shown = mapIncidents().length;
    const more = state.data.incidents.length >= LIMITS.incidents ? '+' : '';
    const area = byGrid ? '网格在办' : '街道在办';
    $('map-meta').textContent = `今日事件 ${fmtCount(shown)}${more} · ${area} ${fmtCount(shaded.total)}`;
  }

  /**
   * Today's incidents for the map: the last /incidents answer plus what arrived live since;
   * for one street, those of that street.
   */
  function mapIncidents() {
    const today = startOfTodayMs();
    const street = state.filters.street;
    const onMap = (i) => matchesFilters(i) && (!street || i.street_code === street);
    const list = state.data.incidents.filter(onMap);
    const seen = new Set(list.map((i) => i.id));
    for (const item of feed.live) {
      if (item.kind !== 'incident' || seen.has(item.id)) continue;
      const i = item.data;
      if (onMap(i) && (i.occurred_at_ms || 0) >= today) {
        list.push(i);
        seen.add(i.id);
      }
    }
    return list;
  }

  function renderPoints() {
    if (!state.map) return;
    const rank = (sev) => SEVERITIES.length - SEVERITIES.indexOf(sev); // critical drawn last
    const points = mapIncidents().filter((i) => i.lat !== null && i.lon !== null);
    points.sort((a, b) => rank(a.severity) - rank(b.severity));
    const now = Date.now();
    const pulsing = new Set(
      feed.live.filter((x) => x.kind === 'incident' && now - x.arrivedAt < PULSE_MS).map((x) => x.id),
    );

    for (const view of state.map.views) {
      if (!view.points) continue;
      const layer = document.createDocumentFragment();
      const v = view.visible;
      for (const p of points) {
        if (p.lon < v[0] || p.lon > v[2] || p.lat < v[1] || p.lat > v[3]) continue;
        const [x, y] = view.proj.project(p.lon, p.lat);
        const cx = x.toFixed(1);
        const cy = y.toFixed(1);
        if (pulsing.has(p.id)) {
          layer.append(s('circle', { class: `pulse sev-${p.severity}`, cx, cy, r: view.pointR }));
        }
        const dot = s('circle', { class: `pt sev-${p.severity}`, cx, cy, r: view.pointR, 'data-id': p.id });
        layer.append(dot);
      }
      view.points.replaceChildren(layer);
    }
  }

  /**
   * The streets with the most open incidents, under the inset (or the locator), as many as
   * fit above the legend. The SVG's viewBox is its size in CSS pixels, so view boxes are
   * page coordinates within the frame.
   */
  function renderTopStreets(counts, max) {
    const box = $('map-top');
    const side = state.map && state.map.side;
    const rem = rootFontPx();
    const top = side ? side.y + side.h + 0.5 * rem : 0;
    const bottom = $('map-legend').offsetTop - 0.5 * rem;
    const rows = side ? Math.min(10, Math.floor((bottom - top - 1.4 * rem) / (1.6 * rem))) : 0;
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, Math.max(0, rows));
    box.hidden = rows < 3 || !ranked.length;
    if (box.hidden) return;
    box.style.left = `${side.x}px`;
    box.style.top = `${top}px`;
    box.style.width = `${side.w}px`;
    $('top-streets').replaceChildren(
      ...ranked.map(([code, n], i) => {
        const street = state.names.streets.get(code);
        const li = h(
          'li',
          { 'data-street': code },
          h('span', { class: 'rank', text: String(i + 1) }),
          h(
            'span',
            { class: 'name' },
            street ? street.name : code,
            street && !state.filters.district ? h('small', { text: districtName(street.parent) }) : null,
          ),
          h('span', { class: 'count', text: fmtCount(n) }),
        );
        li.style.setProperty('--share', `${Math.round((n / Math.max(1, max)) * 100)}%`);
        return li;
      }),
    );
  }

  function renderSeverityLegend() {
    $('legend-severity').replaceChildren(
      ...SEVERITIES.map((id) => h('li', null, h('span', { class: `swatch dot sev-${id}` }), severityName(id))),
    );
  }

  function renderStreetLegend(bins) {
    const items = [h('li', null, h('span', { class: 'swatch q0' }), '0')];
    let low = 1;
    for (const high of bins) {
      const label = low === high ? String(high) : `${low}–${high}`;
      items.push(h('li', null, h('span', { class: `swatch q${binClass(high, bins)}` }), label));
      low = high + 1;
    }
    $('legend-streets').replaceChildren(...items);
  }

  /** Redraw the map when its frame changes size (wall layout, window resize). */
  function observeMapSize() {
    let timer = 0;
    let last = '';
    const observer = new ResizeObserver(() => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const frame = $('map-frame');
        const size = `${Math.round(frame.clientWidth)}x${Math.round(frame.clientHeight)}`;
        if (size !== last) {
          last = size;
          renderMap();
        }
      }, 150);
    });
    observer.observe($('map-frame'));
  }

  // =========================================================================== Feed

  /**
   * The live feed. `live`: items pushed over the stream, newest first (kept up to
   * FEED_LIVE_KEPT, whatever the filters, so changing a filter shows what matches at once).
   * `seeded`: today's newest incidents from the last /incidents answer, shown below the live
   * items, so the feed is not empty after a reload and heals after a reconnection.
   * The feed shows the first FEED_SHOWN items that match the filters.
   */
  const feed = { live: [], liveKeys: new Set(), seeded: [], nodes: new Map() };

  const keyOf = (item) => `${item.kind}:${item.id}`;

  function normIncident(raw) {
    const i = obj(raw);
    const id = str(i.incident_id);
    if (!id) return null;
    return {
      id,
      scenario: str(i.scenario),
      category: str(i.category),
      category_name: str(i.category_name) || str(i.category),
      severity: sevId(i.severity),
      lat: num(i.lat),
      lon: num(i.lon),
      district_code: str(i.district_code),
      street_code: str(i.street_code),
      occurred_at_ms: num(i.occurred_at_ms),
      summary: str(i.summary),
    };
  }

  function normEscalation(raw) {
    const e = obj(raw);
    const id = str(e.transition_id);
    if (!id) return null;
    const streetKey = str(e.street_key);
    return {
      id,
      order_id: str(e.order_id),
      owner_name: str(e.owner_name) || str(e.owner),
      warning: e.warning === 'red' ? 'red' : 'yellow',
      clock: e.clock === 'accept' ? 'accept' : 'resolve',
      at_ms: num(e.at_ms),
      category_name: str(e.category_name),
      street_key: streetKey,
      district_code: str(e.district_code) || districtOfKey(streetKey),
      scenario: str(e.scenario),
    };
  }

  /** An item pushed over the stream. A repeat (reconnection, replay) is ignored. */
  function pushLive(kind, data) {
    if (!data) return;
    const item = { kind, id: data.id, data, arrivedAt: Date.now() };
    const key = keyOf(item);
    if (feed.liveKeys.has(key)) return;
    feed.live.unshift(item);
    feed.liveKeys.add(key);
    while (feed.live.length > FEED_LIVE_KEPT) feed.liveKeys.delete(keyOf(feed.live.pop()));
    // Already shown as a seeded item: it moves to the top as new (and was counted already).
    const wasSeeded = feed.seeded.some((x) => keyOf(x) === key);
    feed.seeded = feed.seeded.filter((x) => keyOf(x) !== key);
    if (kind === 'incident' && !wasSeeded) countLive(data);
    const node = feed.nodes.get(key);
    if (node) {
      feed.nodes.delete(key);
      node.remove();
    }
    renderFeed();
    if (kind === 'incident' && matchesFilters(data)) renderMapData();
  }

  /**
   * A new incident counts at once in its scenario's row, so the wall does not wait for the
   * next refresh; the refresh then brings the server's figures.
   */
  function countLive(incident) {
    const body = state.data.scenarios;
    if (!body) return;
    if (state.filters.district && incident.district_code !== state.filters.district) return;
    const row = arr(body.scenarios).find((r) => obj(r).scenario === incident.scenario);
    if (!row) return;
    row.today = (num(row.today) || 0) + 1;
    const age = serverNow() - (incident.occurred_at_ms || 0);
    if (age >= 0 && age < 3600000) row.last_hour = (num(row.last_hour) || 0) + 1;
    renderScenarios(body);
  }

  function seedFeed(incidents) {
    feed.seeded = incidents
      .filter((i) => !feed.liveKeys.has(`incident:${i.id}`))
      .slice(0, FEED_SHOWN)
      .map((i) => ({ kind: 'incident', id: i.id, data: i, arrivedAt: 0 }));
    renderFeed();
  }

  function renderFeed() {
    const shown = [];
    for (const item of feed.live) {
      if (shown.length >= FEED_SHOWN) break;
      if (matchesFilters(item.data)) shown.push(item);
    }
    for (const item of feed.seeded) {
      if (shown.length >= FEED_SHOWN) break;
      if (matchesFilters(item.data)) shown.push(item);
    }

    const nodes = [];
    const keep = new Map();
    for (const item of shown) {
      const key = keyOf(item);
      let node = feed.nodes.get(key);
      if (!node) {
        node = item.kind === 'incident' ? incidentNode(item.data) : escalationNode(item.data);
        node.dataset.key = key;
        if (item.arrivedAt && Date.now() - item.arrivedAt < 3000) flash(node);
      }
      keep.set(key, node);
      nodes.push(node);
    }
    feed.nodes = keep;
    const list = $('feed');
    reconcile(list, nodes.length ? nodes : [emptyItem('暂无动态')]);
  }

  /** Builds every feed item again (names of places or severities changed). */
  function rebuildFeed() {
    feed.nodes = new Map();
    renderFeed();
  }

  function flash(node) {
    node.classList.add('fresh');
    node.addEventListener('animationend', () => node.classList.remove('fresh'), { once: true });
  }

  function emptyItem(text) {
    return h('li', { class: 'empty', text });
  }

  function incidentNode(i) {
    const line = [placeName(i.district_code, i.street_code)];
    if (i.summary) line.push(i.summary);
    return h(
      'li',
      { class: `sev-${i.severity}`, 'data-kind': 'incident', 'data-id': i.id, title: i.summary || null },
      h('span', { class: 'item-time', text: i.occurred_at_ms !== null ? fmtHMS(i.occurred_at_ms) : '--:--:--' }),
      h('span', { class: 'item-title', text: i.category_name || '事件' }),
      h('span', { class: 'item-badge', text: severityName(i.severity) }),
      h('div', { class: 'item-line' }, ...joinWithSeparators(line)),
    );
  }

  function escalationNode(e) {
    const clock = CLOCK_NAMES[e.clock];
    const what = e.warning === 'red' ? `${clock}超时` : `${clock}时限将到`;
    const line = [e.owner_name, placeOfKey(e.street_key), e.order_id].filter(Boolean);
    return h(
      'li',
      { class: `warn-${e.warning}`, 'data-kind': 'escalation', 'data-id': e.id, 'data-warning': e.warning },
      h('span', { class: 'item-time', text: e.at_ms !== null ? fmtHMS(e.at_ms) : '--:--:--' }),
      h('span', { class: 'item-title', text: `${e.category_name || '工单'} · ${what}` }),
      h('span', { class: 'item-badge', text: WARNING_NAMES[e.warning] }),
      h('div', { class: 'item-line' }, ...joinWithSeparators(line)),
    );
  }

  /** Texts separated by a dim "·" (as nodes: the texts stay text). */
  function joinWithSeparators(texts) {
    const out = [];
    texts.forEach((t, i) => {
      if (i) out.push(h('span', { class: 'sep', text: '·' }));
      out.push(t);
    });
    return out;
  }

  // =========================================================================== Orders

  let overdueOrders = [];
  let triageOrders = [];

  function renderOverdue(body) {
    const rank = { red: 0, yellow: 1 };
    overdueOrders = arr(body.orders)
      .map((raw) => {
        const o = obj(raw);
        return {
          id: str(o.order_id),
          owner_name: str(o.owner_name) || str(o.owner),
          category_name: str(o.category_name),
          severity: sevId(o.severity),
          status: str(o.status),
          warning: o.warning === 'red' ? 'red' : 'yellow',
          clock: o.clock === 'accept' ? 'accept' : 'resolve',
          deadline_ms: num(o.deadline_ms),
          street_key: str(o.street_key),
        };
      })
      .filter((o) => o.id)
      // Red first, then yellow; within a level the earliest deadline first (the server
      // sorts the same way: this only guards the wall's order).
      .sort((a, b) => rank[a.warning] - rank[b.warning] || (a.deadline_ms || 0) - (b.deadline_ms || 0));
    drawOverdue();
    renderOverdueMeta();
  }

  function drawOverdue() {
    const now = serverNow();
    const nodes = overdueOrders.map((o) => {
      const status = STATUS_NAMES[o.status] || o.status;
      const line = [
        o.deadline_ms !== null ? `${CLOCK_NAMES[o.clock]}时限 ${fmtWhen(o.deadline_ms)}` : `${CLOCK_NAMES[o.clock]}时限`,
        status,
        placeOfKey(o.street_key),
        o.id,
      ].filter(Boolean);
      return h(
        'li',
        { class: `warn-${o.warning}`, 'data-id': o.id, 'data-warning': o.warning, 'data-clock': o.clock },
        h('span', { class: 'item-badge', text: WARNING_NAMES[o.warning] }),
        h('span', { class: 'item-title', text: [o.category_name, o.owner_name].filter(Boolean).join(' · ') || o.id }),
        relativeNode('due', o.deadline_ms, now),
        h('div', { class: 'item-line' }, ...joinWithSeparators(line)),
      );
    });
    reconcile($('overdue'), nodes.length ? nodes : [emptyItem('暂无预警工单')]);
  }

  function renderOverdueMeta() {
    const warnings = obj(obj(state.data.summary).warnings);
    let red = num(warnings.red);
    let yellow = num(warnings.yellow);
    if (red === null || yellow === null) {
      red = overdueOrders.filter((o) => o.warning === 'red').length;
      yellow = overdueOrders.length - red;
    }
    $('overdue-meta').textContent = `红灯 ${fmtCount(red)} · 黄灯 ${fmtCount(yellow)}`;
  }

  function renderTriage(body) {
    triageOrders = arr(body.orders)
      .map((raw) => {
        const o = obj(raw);
        return {
          id: str(o.order_id),
          category_name: str(o.category_name),
          summary: str(o.summary),
          created_at_ms: num(o.created_at_ms),
          street_key: str(o.street_key),
        };
      })
      .filter((o) => o.id);
    drawTriage();
    const more = triageOrders.length >= LIMITS.triage ? '+' : '';
    $('triage-meta').textContent = `全市 ${triageOrders.length}${more} 件`;
  }

  function drawTriage() {
    const now = serverNow();
    const nodes = triageOrders.map((o) => {
      const line = [o.category_name, placeOfKey(o.street_key), o.id].filter(Boolean);
      return h(
        'li',
        { 'data-id': o.id, title: o.summary || null },
        h('span', { class: 'item-time', text: o.created_at_ms !== null ? fmtHM(o.created_at_ms) : '--:--' }),
        h('span', { class: 'item-title', text: o.summary || o.category_name || o.id }),
        relativeNode('since', o.created_at_ms, now),
        h('div', { class: 'item-line' }, ...joinWithSeparators(line)),
      );
    });
    reconcile($('triage'), nodes.length ? nodes : [emptyItem('队列为空')]);
  }

  /** Place names depend on the geography, which may arrive after the orders. */
  function renderOverdueAndTriagePlaces() {
    if (overdueOrders.length) drawOverdue();
    if (triageOrders.length) drawTriage();
  }

  /**
   * A time relative to now, kept current by the clock: `due` ("超时 35分钟" / "剩 12分钟")
   * or `since` ("等待 1小时5分").
   */
  function relativeNode(kind, ms, now) {
    const node = h('span', { class: 'item-rel' });
    if (ms !== null) {
      node.dataset[kind] = String(ms);
      updateRelative(node, now);
    }
    return node;
  }

  function updateRelative(node, now) {
    if (node.dataset.due) {
      const left = Number(node.dataset.due) - now;
      node.textContent = left < 0 ? `超时 ${fmtSpan(left)}` : `剩 ${fmtSpan(left)}`;
      node.classList.toggle('over', left < 0);
    } else if (node.dataset.since) {
      node.textContent = `等待 ${fmtSpan(now - Number(node.dataset.since))}`;
    }
  }

  // =========================================================================== Live stream

  function setConnection(status) {
    const node = $('connection');
    node.dataset.state = status;
    $('connection-label').textContent = status === 'open' ? '实时' : status === 'reconnecting' ? '重连中' : '连接中';
  }

  function parseData(event) {
    try {
      return JSON.parse(event.data);
    } catch (_) {
      return null; // a malformed event is skipped
    }
  }

  /**
   * One EventSource on api/v1/stream. The browser reconnects by itself after a network
   * error (sending Last-Event-ID); it gives up only when the server answers with an error
   * status or another content type (readyState CLOSED): then a new one is opened after a
   * growing delay. Whenever the stream comes back, the panels are refreshed at once.
   */
  function connectStream() {
    let delay = STREAM_RETRY_MIN_MS;
    const open = () => {
      const source = new EventSource(API + 'stream');
      source.addEventListener('open', () => {
        delay = STREAM_RETRY_MIN_MS;
        setConnection('open');
        if (state.streamDown) {
          state.streamDown = false;
          if (state.meta) refresh();
        }
      });
      source.addEventListener('error', () => {
        state.streamDown = true;
        setConnection('reconnecting');
        if (source.readyState === EventSource.CLOSED) {
          source.close();
          setTimeout(open, delay);
          delay = Math.min(delay * 2, STREAM_RETRY_MAX_MS);
        }
      });
      source.addEventListener('incident', (e) => pushLive('incident', normIncident(parseData(e))));
      source.addEventListener('escalation', (e) => pushLive('escalation', normEscalation(parseData(e))));
    };
    open();
  }

  // =========================================================================== Refresh loop

  /**
   * Fetches every non-live panel with the current filters, then schedules the next refresh
   * (REFRESH_MS, or RETRY_MS when something failed). A new call (filter change, reconnection)
   * aborts the one in flight, so an old answer never lands under a new filter.
   */
  async function refresh() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = 0;
    if (state.refreshController) state.refreshController.abort();
    const controller = new AbortController();
    state.refreshController = controller;
    const signal = controller.signal;
    const { district, street, scenario } = state.filters;

    const jobs = {
      summary: () => getJSON('summary', { district, scenario }, signal).then(renderSummary),
      scenarios: () => getJSON('scenarios', { district }, signal).then(renderScenarios),
      streets: () =>
        getJSON('streets', { district, scenario }, signal).then((body) => {
          state.data.streets = body;
          renderMapData();
        }),
      grids: async () => {
        if (!street) return;
        const body = await getJSON('grids', { street, scenario }, signal);
        if (state.filters.street !== street) return;
        state.data.grids = body;
        loadGrids(); // again, if the boundaries failed before
        renderMapData();
      },
      incidents: () =>
        getJSON('incidents', { district, scenario, limit: LIMITS.incidents }, signal).then((body) => {
          state.data.incidents = arr(body.incidents).map(normIncident).filter(Boolean);
          renderMapData();
          seedFeed(state.data.incidents);
        }),
      overdue: () =>
        getJSON('orders/overdue', { district, scenario, limit: LIMITS.overdue }, signal).then(renderOverdue),
      triage: () => getJSON('orders/triage', { limit: LIMITS.triage }, signal).then(renderTriage),
    };
    if (Date.now() - state.metaAt > META_REFRESH_MS) jobs.meta = () => loadMeta(signal);

    const names = Object.keys(jobs);
    await Promise.all(
      names.map(async (name) => {
        try {
          await jobs[name]();
          if (!signal.aborted) markOk(name);
        } catch (err) {
          if (signal.aborted) return; // superseded: not a failure
          if (!(err instanceof FetchFailure)) console.error(`cockpit: ${name}:`, err);
          markFailed(name, err);
        }
      }),
    );
    if (state.refreshController !== controller) return;
    state.refreshController = null;
    const failed = names.some((name) => state.failed.has(name));
    state.refreshTimer = setTimeout(refresh, failed ? RETRY_MS : REFRESH_MS);
  }

  // =========================================================================== Clock

  /** Every second: the clock, the relative times, and a new day's reset at midnight. */
  function tick() {
    const now = serverNow();
    $('clock-time').textContent = fmtHMS(now);
    $('clock-date').textContent = fmtDate(now);
    for (const node of document.querySelectorAll('.item-rel[data-due], .item-rel[data-since]')) {
      updateRelative(node, now);
    }
    const today = startOfTodayMs();
    if (state.today && today !== state.today && state.meta) {
      // Midnight in Shanghai: "today" starts over.
      state.data.incidents = [];
      renderMapData();
      refresh();
    }
    state.today = today;
    setTimeout(tick, 1000 - (now % 1000) + 5);
  }

  // =========================================================================== Start

  async function start() {
    readFiltersFromUrl();
    bindControls();
    syncControls();
    updateTitles();
    renderSeverityLegend();
    renderFeed();
    tick();
    connectStream();
    observeMapSize();

    // The names of districts and scenarios first: they validate the URL's filters.
    await untilLoaded('meta', () => loadMeta());
    untilLoaded('geo', loadGeo);
    refresh();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
