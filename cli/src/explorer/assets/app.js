// vchain explorer: a single-page app over the explorer's /api (no framework, no CDN).
// Pages are hash routes; every page is rebuilt from the API when it opens and when the live
// feed (/api/live, Server-Sent Events) says something it shows has changed. Text from the
// chain is only ever set as text (never as HTML): events carry words their signers wrote.
'use strict';

(() => {
  // ---------------------------------------------------------------------------------------
  // DOM helpers
  // ---------------------------------------------------------------------------------------
  const SVG_NS = 'http://www.w3.org/2000/svg';

  /** An element with attributes (`class`, `data-*`, `on*` handlers) and children. */
  function h(tag, attrs, ...children) {
    return build(document.createElement(tag), attrs, children);
  }

  /** An SVG element. */
  function s(tag, attrs, ...children) {
    return build(document.createElementNS(SVG_NS, tag), attrs, children);
  }

  function build(el, attrs, children) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith('on') && typeof value === 'function') {
        el.addEventListener(name.slice(2), value);
      } else {
        el.setAttribute(name, value === true ? '' : String(value));
      }
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------------------------------
  // Formatting
  // ---------------------------------------------------------------------------------------
  /** Minor units per major unit, by currency (two decimals unless known otherwise). */
  const ZERO_DECIMALS = new Set(['JPY', 'KRW', 'VND', 'CLP', 'ISK']);

  function amount(minor, currency) {
    const decimals = ZERO_DECIMALS.has(currency) ? 0 : 2;
    let digits = String(Math.trunc(Number(minor) || 0));
    const negative = digits.startsWith('-');
    if (negative) digits = digits.slice(1);
    digits = digits.padStart(decimals + 1, '0');
    const whole = digits.slice(0, digits.length - decimals).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const frac = decimals ? '.' + digits.slice(digits.length - decimals) : '';
    return `${negative ? '-' : ''}${whole}${frac}${currency ? ' ' + currency : ''}`;
  }

  function time(ms) {
    if (!ms) return '–';
    const d = new Date(Number(ms));
    return isNaN(d) ? String(ms) : d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  }

  function ago(ms) {
    if (!ms) return '';
    const seconds = Math.round((Date.now() - Number(ms)) / 1000);
    if (seconds < 0) return '';
    if (seconds < 60) return `${seconds}s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
    return `${Math.floor(seconds / 86400)}d ago`;
  }

  const shortHash = (hex) => (hex && hex.length > 14 ? hex.slice(0, 10) + '…' : hex || '–');
  /** An enum name without its type prefix: `VOUCHER_STATUS_ACTIVE` -> `ACTIVE`. */
  const bare = (name, prefix) => String(name || '').replace(prefix, '');
  const words = (name) => bare(name, /^(EVENT_KIND|[A-Z_]+?_STATUS|ROLE|PLEDGE_MODE|PLEDGE_HEALTH|HEALTH_CAUSE|DEVICE_KIND)_/).toLowerCase().replace(/_/g, ' ');
  const kindOf = (e) => bare(e.kind, 'EVENT_KIND_');

  // ---------------------------------------------------------------------------------------
  // Links
  // ---------------------------------------------------------------------------------------
  const link = (href, text, testid) => h('a', { href, 'data-testid': testid }, text);
  const blockLink = (height) => link(`#/block/${height}`, `#${height}`);
  const txLink = (hash) => (hash ? link(`#/tx/${hash}`, shortHash(hash)) : null);
  const voucherLink = (id) => (id ? h('a', { href: `#/voucher/${encodeURIComponent(id)}`, class: 'mono' }, id) : '–');
  const accountLink = (id) => (id ? link(`#/account/${encodeURIComponent(id)}`, id) : '–');
  const proposalLink = (id) => (id ? h('a', { href: `#/proposal/${encodeURIComponent(id)}`, class: 'mono' }, id) : '–');
  const pledgeLink = (n) => (n ? h('a', { href: `#/pledge/${encodeURIComponent(n)}`, class: 'mono' }, n) : '–');
  /** An account id, or a USCC (identities are not pages). */
  const partyLink = (id) => (/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(id || '') ? h('span', { class: 'mono' }, id) : accountLink(id));

  // ---------------------------------------------------------------------------------------
  // API
  // ---------------------------------------------------------------------------------------
  class ApiFailure extends Error {
    constructor(error) {
      super(error.message || 'request failed');
      this.error = error;
    }
  }

  async function api(path) {
    let response;
    try {
      response = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    } catch (e) {
      throw new ApiFailure({ status: 0, code: 'EXPLORER_UNREACHABLE', message: `the explorer could not be reached: ${e.message}` });
    }
    let doc;
    try {
      doc = await response.json();
    } catch (e) {
      throw new ApiFailure({ status: response.status, code: 'BAD_ANSWER', message: `the explorer answered ${response.status} without JSON` });
    }
    if (!response.ok || doc.error) throw new ApiFailure(doc.error || { status: response.status, code: 'HTTP_' + response.status, message: '' });
    return doc;
  }

  /** The error box shown in place of what could not be read. */
  function errorBox(err, what) {
    const e = err instanceof ApiFailure ? err.error : { code: 'SCRIPT_ERROR', message: String(err && err.message || err) };
    const refused = e.status === 403;
    return h('div', { class: 'error', role: 'alert', 'data-testid': 'error', 'data-code': e.code },
      h('div', null, h('b', null, what ? `${what}: ` : ''), refused ? 'the node refused this reader. ' : '',
        h('span', { class: 'code', 'data-testid': 'error-code' }, e.code || 'ERROR'),
        e.status ? h('span', { class: 'muted' }, ` (HTTP ${e.status}${e.grpc ? ', gRPC ' + e.grpc : ''})`) : ''),
      h('div', { 'data-testid': 'error-message' }, e.message || ''));
  }

  /** A section that may fail on its own: its content, or its error box. */
  function settled(result, what, render) {
    if (result.status === 'rejected') return errorBox(result.reason, what);
    const value = result.value;
    if (value && value.error) return errorBox(new ApiFailure(value.error), what);
    return render(value);
  }

  // ---------------------------------------------------------------------------------------
  // Shared pieces
  // ---------------------------------------------------------------------------------------
  const MARK_TEXT = { verified: '✔ verified', not_certified: 'not certified', invalid: '✖ INVALID', unchecked: 'not checked', pending: 'checking…' };

  function mark(m, testid) {
    const state = (m && m.state) || 'pending';
    return h('div', { 'data-testid': testid, 'data-state': state },
      h('span', { class: `mark ${state}`, 'data-testid': testid && `${testid}-state` }, MARK_TEXT[state] || state),
      m && m.detail ? h('div', { class: 'mark-detail' }, m.detail) : null);
  }

  function facts(rows, wide) {
    return h('dl', { class: wide ? 'facts wide' : 'facts' }, rows.filter(Boolean).map(([term, value, testid]) => [
      h('dt', null, term), h('dd', { 'data-testid': testid }, value === undefined || value === '' ? '–' : value)]));
  }

  function card(title, ...content) {
    return h('section', { class: 'card' }, title ? h('h2', null, title) : null, content);
  }

  function table(testid, headers, rows, empty) {
    if (!rows.length) return h('p', { class: 'muted', 'data-testid': testid && `${testid}-empty` }, empty || 'None.');
    return h('div', { class: 'table-wrap' }, h('table', { 'data-testid': testid },
      h('thead', null, h('tr', null, headers.map(([text, cls]) => h('th', { class: cls }, text)))),
      h('tbody', null, rows)));
  }

  function statusBadge(name) {
    const n = bare(name, /^[A-Z_]+?_STATUS_/);
    const cls = { ACTIVE: 'ok', OPEN: 'info', PASSED: 'ok', REJECTED: 'bad', EXPIRED: '', SPLIT: '', REDEEMED: 'info',
      REDEMPTION_REQUESTED: 'warn', DESTROYED: 'bad', FROZEN: 'bad', CANCELLED: 'bad', RELEASED: '', ENFORCED: 'bad', LAPSED: '' }[n];
    return h('span', { class: `badge ${cls || ''}` }, n.replace(/_/g, ' ').toLowerCase() || '–');
  }

  function resultBadge(result) {
    if (!result) return h('span', { class: 'badge' }, '?');
    return h('span', { class: `badge ${result.ok ? 'ok' : 'bad'}`, title: result.message || '' }, result.code);
  }

  function json(value) {
    return h('details', null, h('summary', null, 'as JSON'), h('pre', { class: 'json' }, JSON.stringify(value, null, 2)));
  }

  // ---------------------------------------------------------------------------------------
  // Events in words (rendered here, from the typed fields: the chain stores no words)
  // ---------------------------------------------------------------------------------------
  function describe(e) {
    const amt = e.amount ? amount(e.amount, e.currency) : '';
    const v = voucherLink(e.voucher_id);
    const actor = e.actor ? accountLink(e.actor) : 'the chain';
    const asset = e.voucher_id ? v : e.receipt_id ? h('span', { class: 'mono' }, e.receipt_id) : '–';
    switch (kindOf(e)) {
      case 'VOUCHER_ISSUED': return [actor, ' issued ', v, ` for ${amt} to `, accountLink(e.counterparty)];
      case 'VOUCHER_SPLIT': return [actor, ' split ', v, ` (${amt}) into `,
        (e.related_vouchers || []).map((id, i) => [i ? ', ' : '', voucherLink(id), e.amounts && e.amounts[i] !== undefined ? ` (${amount(e.amounts[i], e.currency)})` : ''])];
      case 'VOUCHER_CREATED_BY_SPLIT': return [v, ` (${amt}) made by splitting `, voucherLink((e.related_vouchers || [])[0]), ', held by ', accountLink((e.accounts || [])[0])];
      case 'VOUCHER_TRANSFERRED': return [accountLink(e.previous_holder || e.actor), ' transferred ', v, ` (${amt}) to `, accountLink(e.counterparty)];
      case 'VOUCHER_FINANCED': return [accountLink(e.previous_holder || e.actor), ' sold ', v, ` (${amt}) to financier `, accountLink(e.counterparty),
        e.consideration ? ` for ${amount(e.consideration, e.currency)}` : ''];
      case 'REDEMPTION_REQUESTED': return [actor, ' claimed payment of ', v, ` (${amt}) from its issuer `, partyLink(e.counterparty)];
      case 'VOUCHER_REDEEMED': return [actor, ' confirmed payment of ', v, ` (${amt}) to `, accountLink(e.counterparty), e.detail ? `, reference “${e.detail}”` : ''];
      case 'VOUCHER_DESTROYED': return ['the chain destroyed ', v, ` (${amt}): past maturity and the grace period, unredeemed`];
      case 'VOUCHER_FROZEN': return [actor, ' froze ', v, e.detail ? `: “${e.detail}”` : ''];
      case 'VOUCHER_UNFROZEN': return [actor, ' unfroze ', v, e.detail ? `: “${e.detail}”` : ''];
      case 'PLEDGE_REGISTERED': return [actor, ' pledged ', asset, ' to ', accountLink(e.counterparty), ` securing ${amt}, registration `, pledgeLink(e.pledge)];
      case 'PLEDGE_AMENDED': return [actor, ' amended pledge ', pledgeLink(e.pledge), ' of ', asset, amt ? `, securing ${amt}` : ''];
      case 'PLEDGE_RELEASED': return [actor, ' released pledge ', pledgeLink(e.pledge), ' of ', asset];
      case 'PLEDGE_ENFORCED': return [actor, ' enforced pledge ', pledgeLink(e.pledge), ': ', asset, ' passed from ', accountLink(e.previous_holder), ' to ', accountLink(e.counterparty)];
      case 'PLEDGE_LAPSED': return ['pledge ', pledgeLink(e.pledge), ' of ', asset, ' lapsed at the end of its period'];
      case 'PLEDGE_ALERT': return ['alert to ', accountLink(e.counterparty), ' on pledge ', pledgeLink(e.pledge), ': health ', words(e.health), e.health_cause ? ` (${words(e.health_cause)})` : ''];
      case 'PROPOSAL_SUBMITTED': return [actor, ' submitted proposal ', proposalLink(e.proposal_id), e.detail ? `: “${e.detail}”` : ''];
      case 'PROPOSAL_VOTED': return [h('b', null, e.org_id), ` voted ${e.approve ? 'for' : 'against'} `, proposalLink(e.proposal_id), ' (', actor, ')'];
      case 'PROPOSAL_PASSED': return ['proposal ', proposalLink(e.proposal_id), ' passed and its change was made'];
      case 'PROPOSAL_REJECTED': return ['proposal ', proposalLink(e.proposal_id), ' was rejected', e.code && e.code !== 'OK' ? ` (${e.code})` : ''];
      case 'PROPOSAL_EXPIRED': return ['proposal ', proposalLink(e.proposal_id), ' expired undecided'];
      case 'RULES_UPGRADE_SCHEDULED': return ['chain rules ', h('b', null, `v${e.rules_version}`), ` scheduled to activate at block ${e.activation_height} (proposal `, proposalLink(e.proposal_id), ')'];
      case 'RULES_UPGRADE_ACTIVATED': return ['chain rules ', h('b', null, `v${e.rules_version}`), ' are active from this block on (proposal ', proposalLink(e.proposal_id), ')'];
      case 'CONSENSUS_NODE_ADDED': return ['consensus node ', h('b', null, e.node_id), ' joined', e.org_id ? ` (${e.org_id})` : ''];
      case 'CONSENSUS_NODE_REMOVED': return ['consensus node ', h('b', null, e.node_id), ' left'];
      case 'CREDIT_LINE_GRANTED': case 'CREDIT_LINE_RAISED': case 'CREDIT_LINE_LOWERED': case 'CREDIT_LINE_REVOKED':
        return [actor, ` ${words(e.kind).replace('credit line ', '')} a credit line to `, partyLink(e.counterparty), e.limit ? `: limit ${amount(e.limit, e.currency)}` : ''];
      case 'ACCOUNT_REGISTERED': return [actor, ' registered account ', accountLink(e.counterparty), e.uscc ? ` of ${e.uscc}` : ''];
      case 'IDENTITY_REGISTERED': return [actor, ' registered identity ', h('span', { class: 'mono' }, e.uscc || e.counterparty), ` as ${words(e.role)}`];
      default: {
        const parts = [actor, ' ', words(e.kind)];
        if (e.voucher_id) parts.push(' ', v);
        if (e.counterparty) parts.push(' → ', partyLink(e.counterparty));
        if (amt) parts.push(` (${amt})`);
        if (e.detail) parts.push(`: “${e.detail}”`);
        return parts;
      }
    }
  }

  function eventItem(e, withBlock = true) {
    return h('li', { 'data-testid': 'event', 'data-kind': kindOf(e), 'data-voucher': e.voucher_id || null },
      h('div', { class: 'when' }, withBlock ? blockLink(e.height) : `#${e.height}`, h('br'), h('span', { title: time(e.time_ms) }, ago(e.time_ms))),
      h('div', { class: 'what' }, h('span', { class: 'badge info kind' }, words(e.kind)), describe(e), e.tx_hash ? [' · tx ', txLink(e.tx_hash)] : ''));
  }

  function eventList(events, testid, empty) {
    if (!events || !events.length) return h('p', { class: 'muted', 'data-testid': testid && `${testid}-empty` }, empty || 'No events.');
    return h('ul', { class: 'events', 'data-testid': testid }, events.map((e) => eventItem(e)));
  }

  // ---------------------------------------------------------------------------------------
  // Pages
  // ---------------------------------------------------------------------------------------
  function blockRows(blocks, fresh) {
    return blocks.map((b) => h('tr', { 'data-testid': `block-row-${b.height}`, class: fresh && fresh.has(b.height) ? 'fresh' : null },
      h('td', null, blockLink(b.height)),
      h('td', { class: 'opt when' }, h('span', { title: time(b.time_ms) }, ago(b.time_ms) || time(b.time_ms))),
      h('td', { class: 'num', 'data-testid': 'block-tx-count' }, b.tx_count),
      h('td', { class: 'num opt' }, b.events),
      h('td', { class: 'num opt' }, b.rejected ? h('span', { class: 'badge bad' }, b.rejected) : 0),
      h('td', { class: 'opt' }, b.proposer),
      h('td', null, b.certificate ? h('span', { class: 'badge ok', title: b.certificate.signers.join(', ') }, `${b.certificate.signers.length} signers`) : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'mono opt' }, shortHash(b.hash))));
  }

  const BLOCK_HEADERS = [['Height'], ['Time', 'opt'], ['Txs', 'num'], ['Events', 'num opt'], ['Rejected', 'num opt'], ['Proposer', 'opt'], ['Certificate'], ['Hash', 'opt']];

  let seenHeights = new Set();
  function freshHeights(blocks) {
    const fresh = new Set(blocks.map((b) => b.height).filter((x) => seenHeights.size && !seenHeights.has(x)));
    blocks.forEach((b) => seenHeights.add(b.height));
    return fresh;
  }

  async function pageStatus() {
    const [status, blocks, events] = await Promise.allSettled([api('/api/status'), api('/api/blocks?limit=8'), api('/api/events?limit=25')]);
    if (status.status === 'fulfilled') showIdentity(status.value);
    return h('div', null,
      h('div', { class: 'page-head' }, h('h1', null, 'Chain status')),
      settled(status, 'Reading the node status', (d) => {
        const st = d.status;
        return h('div', null,
          h('div', { class: 'stats' },
            stat('Height', st.height, 'status-height'),
            stat('Chain', d.chain_id, 'status-chain-id'),
            stat('Consensus', `${st.consensus}${st.consensus_view ? ' · view ' + st.consensus_view : ''}`, 'status-consensus'),
            stat('Leader', st.leader || '–', 'status-leader'),
            stat('Mempool', st.mempool_size, 'status-mempool'),
            stat('Certified', d.certified.height ?? '–', 'status-certified-height')),
          h('div', { class: 'grid' },
            card('Head', facts([
              ['Block', blockLink(st.height)],
              ['Hash', h('span', { class: 'mono' }, st.head_hash), 'status-head-hash'],
              ['Time', `${time(st.head_time_ms)} (${ago(st.head_time_ms)})`],
              ['State root', h('span', { class: 'mono' }, st.state_root)],
              ['Newest certified block', [d.certified.height ? blockLink(d.certified.height) : '–', mark(d.certified.mark, 'status-certified')]],
              ['Node', `${st.node_id} · vchain ${st.version}`],
              st.syncing ? ['Syncing', h('span', { class: 'badge warn' }, 'installing a snapshot')] : null,
              // Nodes that certify their blocks after applying them (ADR 0015) report how far.
              st.certified_height !== undefined ? ['Certified by this node up to', [blockLink(st.certified_height), st.certification_lag ? ` (${st.certification_lag} behind)` : ''], 'status-node-certified'] : null,
              // Chain rules versions (ADR 0016): the active one and a scheduled upgrade.
              st.rules_version ? ['Chain rules', `v${st.rules_version} (this node executes up to v${st.rules_version_max})`, 'status-rules'] : null,
              st.rules_pending_version ? ['Rules upgrade', [`v${st.rules_pending_version} at block ${st.rules_activation_height}`,
                st.rules_pending_version > st.rules_version_max ? h('span', { class: 'badge bad' }, ' this node must be upgraded first') : ''], 'status-rules-upgrade'] : null,
            ])),
            st.equivocations && st.equivocations.length ? card('Equivocation alerts',
              h('p', { class: 'error', 'data-testid': 'status-equivocations' }, `${st.equivocations.length} consensus member signature(s) on two different blocks at one height: remove the member through governance and find out why.`),
              json(st.equivocations)) : null,
            card('Consensus nodes',
              table('nodes-table', [['Node'], ['Organisation'], ['Role']], d.nodes.map((n) => h('tr', { 'data-testid': `node-row-${n.node_id}` },
                h('td', null, h('b', null, n.node_id), n.this_node ? h('span', { class: 'badge info' }, ' this node') : ''),
                h('td', null, n.org_id || '–'),
                h('td', null, n.leader ? h('span', { class: 'badge ok' }, 'leader') : '', ' ', n.voter ? h('span', { class: 'badge' }, 'voter') : '',
                  n.votes_refused ? h('span', { class: 'badge bad' }, 'votes refused') : '')))),
              mark(d.nodes_proof, 'nodes-proof')),
            card('Member organisations', table('members-table', [['Organisation'], ['Name']],
              (st.members || []).map((m) => h('tr', null, h('td', null, h('b', null, m.org_id)), h('td', null, m.name)))))));
      }),
      h('div', { class: 'grid' },
        card('Latest blocks', settled(blocks, 'Reading blocks', (d) => [
          table('latest-blocks', BLOCK_HEADERS, blockRows(d.blocks, freshHeights(d.blocks)), 'No blocks yet.'),
          h('div', { class: 'pager' }, link('#/blocks', 'All blocks →'))])),
        card('Recent events', settled(events, 'Reading events', (d) => eventList(d.events, 'events-feed', 'No events seen yet.')))));
  }

  function stat(label, value, testid) {
    return h('div', { class: 'stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value', 'data-testid': testid }, value));
  }

  async function pageBlocks(before) {
    const d = await api(`/api/blocks?limit=20${before ? '&before=' + before : ''}`);
    const newest = d.blocks.length ? d.blocks[0].height : null;
    return h('div', null,
      h('div', { class: 'page-head' }, h('h1', null, 'Blocks'), h('span', { class: 'muted' }, `head ${d.head}`)),
      card(null, table('blocks-table', BLOCK_HEADERS, blockRows(d.blocks, before ? null : freshHeights(d.blocks)), 'No blocks.'),
        h('div', { class: 'pager' },
          before && newest !== null && newest < d.head ? link(`#/blocks?before=${Math.min(d.head + 1, newest + 21)}`, '← Newer') : null,
          d.next_before ? link(`#/blocks?before=${d.next_before}`, 'Older →', 'blocks-older') : null)));
  }

  async function pageBlock(height, from) {
    const d = await api(`/api/block/${height}${from ? '?from=' + from : ''}`);
    const b = d.summary;
    const header = d.header || {};
    return h('div', null,
      h('div', { class: 'page-head' },
        h('h1', null, 'Block ', h('span', { 'data-testid': 'block-height' }, b.height)),
        h('span', null, b.height > 0 ? link(`#/block/${b.height - 1}`, '← previous') : null, ' ', link(`#/block/${b.height + 1}`, 'next →'))),
      h('div', { class: 'grid' },
        card('Header', facts([
          ['Hash', h('span', { class: 'mono' }, b.hash), 'block-hash'],
          ['Previous', b.height > 0 ? h('a', { href: `#/block/${b.height - 1}`, class: 'mono' }, b.prev_hash) : h('span', { class: 'mono' }, b.prev_hash)],
          ['Time', `${time(b.time_ms)} (${ago(b.time_ms)})`],
          ['Proposer', b.proposer],
          ['Transactions', `${b.tx_count}${b.rejected ? ` (${b.rejected} rejected)` : ''}`, 'block-tx-total'],
          ['State root', h('span', { class: 'mono' }, header.state_root)],
          ['Transaction root', h('span', { class: 'mono' }, header.tx_root)],
        ])),
        card('Commit certificate', mark(d.verification, 'block-verification'),
          b.certificate ? facts([['View', b.certificate.view], ['Signed by', b.certificate.signers.join(', ')]]) : null)),
      card(`Transactions (${d.tx_total})`,
        table('block-txs', [['#'], ['Hash'], ['Signer'], ['Operation'], ['Result']], d.transactions.map((t) => [
          h('tr', { 'data-testid': `tx-row-${t.hash}` },
            h('td', null, t.index),
            h('td', null, h('a', { href: `#/tx/${t.hash}`, class: 'mono' }, shortHash(t.hash))),
            h('td', null, accountLink(t.signer)),
            h('td', null, words(t.operation)),
            h('td', null, resultBadge(t.result))),
          t.result && t.result.events && t.result.events.length
            ? h('tr', null, h('td', { colspan: 5 }, eventList(t.result.events))) : null]), 'No transactions: the chain acted on its own (see below) or nothing was due.'),
        h('div', { class: 'pager' },
          d.tx_from > 0 ? link(`#/block/${b.height}?from=${Math.max(0, d.tx_from - d.tx_page)}`, '← earlier transactions') : null,
          d.tx_from + d.transactions.length < d.tx_total ? link(`#/block/${b.height}?from=${d.tx_from + d.tx_page}`, 'later transactions →') : null)),
      d.system_events.length ? card('What the chain did by itself', eventList(d.system_events, 'system-events')) : null);
  }

  async function pageTx(hash) {
    const t = await api(`/api/tx/${hash}`);
    return h('div', null,
      h('div', { class: 'page-head' }, h('h1', null, 'Transaction'), resultBadge(t.result)),
      card(null, facts([
        ['Hash', h('span', { class: 'mono', 'data-testid': 'tx-hash' }, t.hash)],
        ['Block', [h('a', { href: `#/block/${t.height}`, 'data-testid': 'tx-height' }, `#${t.height}`), ` · position ${t.index}`]],
        ['Time', `${time(t.time_ms)} (${ago(t.time_ms)})`],
        ['Signer', accountLink(t.signer), 'tx-signer'],
        ['Nonce', t.nonce],
        ['Operation', words(t.operation), 'tx-operation'],
        ['Result', [resultBadge(t.result), t.result && t.result.message ? ' ' + t.result.message : ''], 'tx-result'],
        t.undecodable ? ['Body', `does not decode: ${t.undecodable}`] : null,
      ]), json(t.body)),
      card('Events', eventList(t.result && t.result.events, 'tx-events')));
  }

  function voucherRows(vouchers) {
    return vouchers.map((v) => h('tr', { 'data-testid': `voucher-row-${v.id}` },
      h('td', null, voucherLink(v.id)),
      h('td', { class: 'num' }, amount(v.amount, v.currency)),
      h('td', null, statusBadge(v.status), v.frozen ? h('span', { class: 'badge bad' }, ' frozen') : '', v.pledge ? h('span', { class: 'badge warn' }, ' pledged') : ''),
      h('td', { class: 'opt' }, v.maturity_date),
      h('td', { class: 'opt' }, v.parent_id ? voucherLink(v.parent_id) : 'issued'),
      h('td', { class: 'opt mono' }, v.issuer)));
  }

  const VOUCHER_HEADERS = [['Voucher'], ['Amount', 'num'], ['Status'], ['Maturity', 'opt'], ['From', 'opt'], ['Issuer', 'opt']];

  function voucherSection(testid, page, query) {
    const body = h('tbody', null, voucherRows(page.vouchers));
    const more = h('div', { class: 'pager' });
    let token = page.next_token;
    const showMore = () => {
      more.replaceChildren();
      if (!token) return;
      more.append(h('button', { class: 'secondary', type: 'button', 'data-testid': `${testid}-more`, onclick: async () => {
        try {
          const next = await api(`/api/vouchers?${query}&token=${encodeURIComponent(token)}`);
          append(body, voucherRows(next.vouchers));
          token = next.next_token;
          showMore();
        } catch (e) { more.replaceChildren(errorBox(e, 'Reading more vouchers')); }
      } }, 'More'));
    };
    showMore();
    if (!page.vouchers.length) return h('p', { class: 'muted', 'data-testid': `${testid}-empty` }, 'None.');
    return [h('div', { class: 'table-wrap' }, h('table', { 'data-testid': testid },
      h('thead', null, h('tr', null, VOUCHER_HEADERS.map(([t, c]) => h('th', { class: c }, t)))), body)), more];
  }

  async function pageAccount(id) {
    const d = await api(`/api/account/${encodeURIComponent(id)}`);
    const a = d.account;
    const cert = a.certificate;
    return h('div', null,
      h('div', { class: 'page-head' }, h('h1', null, 'Account ', h('span', { 'data-testid': 'account-id' }, a.account_id)), statusBadge(a.status)),
      card(null, facts([
        ['Identity (USCC)', h('span', { class: 'mono' }, a.uscc), 'account-uscc'],
        ['Organisation', a.org_id],
        ['Role', words(a.role), 'account-role'],
        ['Live vouchers', a.live_vouchers, 'account-live'],
        ['Next nonce', a.next_nonce],
        ['Public key', h('span', { class: 'mono' }, a.public_key)],
        ['Certificate', cert ? `${cert.bytes} bytes, serial ${cert.serial}, valid to ${time(cert.not_after_ms)}${cert.revoked ? ' (REVOKED)' : ''}` : 'none (bare key)'],
      ])),
      card('Vouchers held', d.held.error ? errorBox(new ApiFailure(d.held.error), 'Listing vouchers') : voucherSection('account-vouchers', d.held, `holder=${encodeURIComponent(a.account_id)}`)),
      d.issued ? card('Vouchers its identity issued', d.issued.error ? errorBox(new ApiFailure(d.issued.error), 'Listing issued vouchers')
        : voucherSection('account-issued', d.issued, `issuer=${encodeURIComponent(a.uscc)}`)) : null);
  }

  // --- The lineage graph -------------------------------------------------------------------
  const EDGE_TEXT = { split: 'split', transfer: 'transfer', financing: 'financing', pledge_enforced: 'enforced' };

  function lineageGraph(l, currency) {
    const W = l.node_width;
    const H = l.node_height;
    const byKey = new Map(l.nodes.map((n) => [n.key, n]));
    const svg = s('svg', { width: l.width, height: l.height_px, viewBox: `0 0 ${l.width} ${l.height_px}`, role: 'img',
      'aria-label': `Lineage of ${l.root_id}: ${l.nodes.length} holdings`, 'data-testid': 'lineage-svg' });
    for (const e of l.edges) {
      const a = byKey.get(e.from);
      const b = byKey.get(e.to);
      if (!a || !b) continue;
      const x1 = a.x + W / 2; const y1 = a.y + H;
      const x2 = b.x + W / 2; const y2 = b.y;
      const mid = (y1 + y2) / 2;
      let label = EDGE_TEXT[e.kind] || e.kind;
      if (e.kind === 'split') label += ' ' + amount(e.amount, '');
      if (e.kind === 'financing' && e.consideration) label += ' · paid ' + amount(e.consideration, '');
      const lx = (x1 + x2) / 2;
      const ly = mid + 4;
      const width = Math.min(W, label.length * 6.2 + 10);
      svg.append(s('g', { class: `ledge ${e.kind}`, 'data-testid': 'lineage-edge', 'data-kind': e.kind, 'data-from': e.from, 'data-to': e.to },
        s('path', { d: `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}` }),
        s('rect', { x: lx - width / 2, y: ly - 11, width, height: 15, rx: 4 }),
        s('text', { x: lx, y: ly, 'text-anchor': 'middle' }, label)));
    }
    for (const n of l.nodes) {
      const stateClass = n.frozen ? 'frozen' : n.state;
      const stateText = `${n.state.replace(/_/g, ' ')}${n.frozen ? ' · FROZEN' : ''}${n.pledge ? ' · PLEDGED' : ''}`;
      const go = () => { location.hash = `#/voucher/${encodeURIComponent(n.voucher_id)}`; };
      svg.append(s('g', {
        class: `lnode${n.focus ? ' focus' : ''}${n.current ? '' : ' past'}`,
        transform: `translate(${n.x},${n.y})`, tabindex: 0, role: 'link',
        'aria-label': `${n.voucher_id}, ${amount(n.amount, n.currency)}, held by ${n.holder}, ${stateText}`,
        'data-testid': 'lineage-node', 'data-key': n.key, 'data-voucher': n.voucher_id, 'data-holder': n.holder,
        'data-amount': n.amount, 'data-state': n.state, 'data-focus': n.focus ? 'true' : 'false',
        onclick: go, onkeydown: (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); go(); } },
      },
      s('title', null, `${n.voucher_id} · ${n.events.length} event(s) during this holding`),
      s('rect', { class: 'box', width: W, height: H, rx: 8 }),
      s('text', { class: 'id', x: 10, y: 19 }, n.voucher_id),
      s('rect', { class: `state ${stateClass}`, x: W - 94, y: 6, width: 86, height: 17, rx: 8 }),
      s('text', { class: 'state', x: W - 51, y: 18, 'text-anchor': 'middle' }, n.state.replace(/_/g, ' ').slice(0, 14)),
      s('text', { class: 'amount', x: 10, y: 41, 'data-testid': 'lineage-node-amount' }, amount(n.amount, n.currency || currency)),
      s('text', { class: 'holder', x: 10, y: 60, 'data-testid': 'lineage-node-holder' }, `held by ${n.holder}`.slice(0, 30)),
      s('text', { class: 'sub', x: 10, y: 77 }, `${n.from_height ? 'from #' + n.from_height : ''}${n.frozen ? ' · frozen' : ''}${n.pledge ? ' · pledged' : ''}`)));
    }
    return svg;
  }

  function holdingsList(l) {
    return h('ul', { class: 'holdings', 'data-testid': 'lineage-list' }, l.nodes.map((n) => h('li', { class: n.focus ? 'focus' : null, 'data-testid': `holding-${n.key}` },
      h('div', { class: 'holding-head' },
        voucherLink(n.voucher_id),
        h('b', null, amount(n.amount, n.currency)),
        h('span', null, 'held by ', accountLink(n.holder)),
        statusBadge(n.state), n.frozen ? h('span', { class: 'badge bad' }, 'frozen') : '', n.pledge ? [h('span', { class: 'badge warn' }, 'pledged'), ' ', pledgeLink(n.pledge)] : ''),
      eventList(n.events, null, 'No events visible to this reader.'))));
  }

  async function pageVoucher(id) {
    const d = await api(`/api/voucher/${encodeURIComponent(id)}`);
    const v = d.voucher;
    const l = d.lineage;
    const doc = v.trade_document || {};
    const verification = h('div', null, mark(null, 'voucher-verification'));
    api(`/api/voucher/${encodeURIComponent(id)}/verification`)
      .then((m) => verification.replaceChildren(mark(m, 'voucher-verification')))
      .catch((e) => verification.replaceChildren(errorBox(e, 'Checking the voucher')));
    const graphWrap = h('div', { class: 'graph-wrap', 'data-testid': 'lineage-graph' }, lineageGraph(l, v.currency));
    current.lineageVouchers = new Set(l.nodes.map((n) => n.voucher_id));
    current.afterRender = () => {
      // Bring the voucher asked for into view inside the graph.
      const focus = l.nodes.find((n) => n.focus && n.current) || l.nodes.find((n) => n.focus);
      if (focus) {
        graphWrap.scrollLeft = Math.max(0, focus.x + l.node_width / 2 - graphWrap.clientWidth / 2);
        graphWrap.scrollTop = Math.max(0, focus.y + l.node_height / 2 - graphWrap.clientHeight / 2);
      }
    };
    return h('div', null,
      h('div', { class: 'page-head' }, h('h1', null, 'Voucher ', h('span', { class: 'mono', 'data-testid': 'voucher-id' }, v.id)),
        h('span', { 'data-testid': 'voucher-status' }, statusBadge(v.status)), v.frozen ? h('span', { class: 'badge bad' }, 'frozen') : '',
        v.pledge ? h('span', { class: 'badge warn' }, 'pledged') : ''),
      card(null, facts([
        ['Amount', h('b', null, amount(v.amount, v.currency)), 'voucher-amount'],
        ['Holder', accountLink(v.holder), 'voucher-holder'],
        ['Issuer', h('span', { class: 'mono' }, v.issuer)],
        ['Financier', h('span', { class: 'mono' }, v.financier)],
        ['Maturity', v.maturity_date, 'voucher-maturity'],
        ['Issued', [blockLink(v.issued_height), ` · ${time(v.issued_time_ms)}`]],
        ['Trade document', doc.number ? `${doc.kind} ${doc.number} (SHA-256 ${shortHash(doc.hash)})` : '–'],
        ['Lineage', [v.parent_id ? ['split from ', voucherLink(v.parent_id), ' · '] : 'issued · ', 'root ', voucherLink(v.root_id), ` · depth ${v.depth}`], 'voucher-lineage'],
        v.children && v.children.length ? ['Split into', v.children.map((c, i) => [i ? ', ' : '', voucherLink(c)]), 'voucher-children'] : null,
        ['Verified', h('span', { title: 'Verified when every block holding an event of this voucher or of the vouchers it was split from carries a commit certificate that verifies against the validators of its height.' }, verification)],
      ], true)),
      card(`Lineage from ${l.root_id} (${l.nodes.length} holdings, read at height ${l.height})`,
        h('div', { class: 'legend' },
          h('span', null, 'Each box is a voucher while one account held it; click one to open that voucher.'),
          h('span', null, '— split'), h('span', null, '- - transfer'), h('span', null, '- - financing (amber)'), h('span', null, '- - pledge enforced (red)')),
        graphWrap,
        l.truncated ? h('p', { class: 'error' }, `${l.truncated} holdings not drawn: the lineage is larger than the explorer draws.`) : null),
      d.pledge ? card('Pledge notice', d.pledge.error ? errorBox(new ApiFailure(d.pledge.error), 'Reading the pledge') : pledgeFacts(d.pledge, 'voucher-pledge')) : null,
      card('What happened, holding by holding', holdingsList(l)));
  }

  function pledgeFacts(p, testid) {
    const voucherAsset = p.asset_kind === 'voucher';
    return h('div', { 'data-testid': testid }, facts([
      ['Registration', pledgeLink(p.registration_number), 'pledge-number'],
      ['Status', statusBadge(p.status), 'pledge-status'],
      ['Asset', [p.asset_kind, ' ', voucherAsset ? voucherLink(p.asset_id) : h('span', { class: 'mono' }, p.asset_id)]],
      ['Pledgor', accountLink(p.pledgor)],
      ['Pledgee', accountLink(p.pledgee), 'pledge-pledgee'],
      ['Secures', amount(p.secured_amount, p.currency), 'pledge-amount'],
      ['Period ends', p.period_end_date],
      ['Collateral', p.collateral_description],
      ['Mode', words(p.mode)],
      p.floor_value ? ['Floor', amount(p.floor_value, p.currency)] : null,
      ['Health', [words(typeof p.health === 'number' ? ['UNSPECIFIED', 'OK', 'AT_RISK', 'BREACHED'][p.health] || p.health : p.health), p.health_cause && !/UNSPECIFIED/.test(p.health_cause) ? ` (${words(p.health_cause)})` : '']],
      ['Registered', [blockLink(p.registered_height), ` · ${time(p.registered_ms)}`]],
      p.ended_height ? ['Ended', [blockLink(p.ended_height), p.ended_reason ? `: “${p.ended_reason}”` : '']] : null,
    ]));
  }

  async function pageProposals(query) {
    const open = /(^|&)open=1/.test(query || '');
    const d = await api(`/api/proposals?limit=100${open ? '&open=1' : ''}`);
    const rows = d.proposals.map((p) => {
      const sub = p.submission || {};
      const action = sub.action ? Object.keys(sub.action)[0] : '';
      return h('tr', { 'data-testid': `proposal-row-${p.id}` },
        h('td', null, proposalLink(p.id)),
        h('td', null, sub.title),
        h('td', { class: 'opt' }, words(action)),
        h('td', null, statusBadge(p.status)),
        h('td', { class: 'num' }, (p.votes || []).length),
        h('td', { class: 'opt' }, accountLink(p.proposer), ` (${p.proposer_org})`),
        h('td', { class: 'opt' }, blockLink(p.submitted_height)));
    });
    return h('div', null,
      h('div', { class: 'page-head' }, h('h1', null, 'Proposals'),
        h('label', { class: 'toggle' }, h('input', { type: 'checkbox', checked: open, 'data-testid': 'proposals-open',
          onchange: (e) => { location.hash = e.target.checked ? '#/proposals?open=1' : '#/proposals'; } }), 'open only')),
      card(null, table('proposals-table', [['Id'], ['Title'], ['Change', 'opt'], ['Status'], ['Votes', 'num'], ['Proposer', 'opt'], ['Submitted', 'opt']], rows, 'No proposals.'),
        d.next_token ? h('p', { class: 'muted' }, 'More proposals exist than one page shows.') : null));
  }

  async function pageProposal(id) {
    const d = await api(`/api/proposal/${encodeURIComponent(id)}`);
    const p = d.proposal;
    const sub = p.submission || {};
    const action = sub.action ? Object.keys(sub.action)[0] : '';
    return h('div', null,
      h('div', { class: 'page-head' }, h('h1', null, 'Proposal ', h('span', { class: 'mono', 'data-testid': 'proposal-id' }, p.id)), statusBadge(p.status)),
      card(null, facts([
        ['Title', sub.title, 'proposal-title'],
        ['Reason', sub.reason],
        ['Change', words(action), 'proposal-action'],
        ['Proposer', [accountLink(p.proposer), ` of ${p.proposer_org}`]],
        ['Submitted', [blockLink(p.submitted_height), ` · ${time(p.submitted_ms)}`]],
        ['Deadline', time(p.deadline_ms)],
        p.decided_height ? ['Decided', [blockLink(p.decided_height), ` · ${p.approvals} for, ${p.disapprovals} against of ${p.member_count} members (threshold ${p.approval_percent}%)`]] : null,
        p.rejected_by && p.rejected_by !== 'OK' ? ['Action failed', p.rejected_by] : null,
      ]), json(sub.action)),
      card('Votes', table('proposal-votes', [['Organisation'], ['Vote'], ['Account'], ['Block'], ['Tx', 'opt']], (p.votes || []).map((vote) => h('tr', { 'data-testid': `vote-row-${vote.org_id}` },
        h('td', null, h('b', null, vote.org_id)),
        h('td', null, h('span', { class: `badge ${vote.approve ? 'ok' : 'bad'}` }, vote.approve ? 'for' : 'against')),
        h('td', null, accountLink(vote.account)),
        h('td', null, blockLink(vote.height)),
        h('td', { class: 'opt' }, txLink(vote.tx_hash)))), 'No votes yet.')),
      card('History', eventList(d.events, 'proposal-events')));
  }

  async function pagePledges() {
    const d = await api('/api/pledges?limit=200');
    const number = h('input', { name: 'number', placeholder: 'R000000000001', 'aria-label': 'Registration number', 'data-testid': 'pledge-lookup' });
    return h('div', null,
      h('div', { class: 'page-head' }, h('h1', null, 'Pledge notices')),
      card('Look up a registration',
        h('p', { class: 'muted small' }, 'Pledge registrations are public notice: every authenticated reader may read them.'),
        h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); if (number.value.trim()) location.hash = `#/pledge/${encodeURIComponent(number.value.trim())}`; } },
          number, h('button', { type: 'submit' }, 'Open'))),
      card('Recent notices', eventList(d.notices, 'pledge-notices', 'No pledge events among the recent events this reader sees.')));
  }

  async function pagePledge(number) {
    const d = await api(`/api/pledge/${encodeURIComponent(number)}`);
    return h('div', null,
      h('div', { class: 'page-head' }, h('h1', null, 'Pledge ', h('span', { class: 'mono', 'data-testid': 'pledge-id' }, d.pledge.registration_number))),
      card(null, pledgeFacts(d.pledge, 'pledge')),
      card('Recent events', eventList(d.events, 'pledge-events', 'None among the recent events.')));
  }

  // ---------------------------------------------------------------------------------------
  // Router
  // ---------------------------------------------------------------------------------------
  const ROUTES = [
    [/^#?\/?$/, 'status', () => pageStatus()],
    [/^#\/blocks(?:\?before=(\d+))?$/, 'blocks', (m) => pageBlocks(m[1])],
    [/^#\/block\/(\d+)(?:\?from=(\d+))?$/, 'blocks', (m) => pageBlock(m[1], m[2])],
    [/^#\/tx\/(?:0x)?([0-9a-fA-F]{64})$/, 'blocks', (m) => pageTx(m[1].toLowerCase())],
    [/^#\/account\/([^/?]+)$/, '', (m) => pageAccount(decodeURIComponent(m[1]))],
    [/^#\/voucher\/([^/?]+)$/, '', (m) => pageVoucher(decodeURIComponent(m[1]))],
    [/^#\/proposals(?:\?(.*))?$/, 'proposals', (m) => pageProposals(m[1])],
    [/^#\/proposal\/([^/?]+)$/, 'proposals', (m) => pageProposal(decodeURIComponent(m[1]))],
    [/^#\/pledges$/, 'pledges', () => pagePledges()],
    [/^#\/pledge\/([^/?]+)$/, 'pledges', (m) => pagePledge(decodeURIComponent(m[1]))],
  ];

  let current = { hash: null, generation: 0 };

  async function render(quiet) {
    const hash = location.hash || '#/';
    const route = ROUTES.find(([re]) => re.test(hash));
    const view = $('view');
    const generation = ++current.generation;
    if (!quiet || current.hash !== hash) {
      current = { hash, generation, nav: route ? route[1] : '' };
      document.querySelectorAll('.nav a').forEach((a) => a.classList.toggle('active', a.dataset.nav === current.nav));
      view.replaceChildren(h('p', { class: 'loading', 'data-testid': 'loading' }, 'Loading…'));
    }
    let page;
    try {
      page = route ? await route[2](hash.match(route[0])) : errorBox(new ApiFailure({ status: 404, code: 'NO_SUCH_PAGE', message: `nothing lives at ${hash}` }), 'Opening the page');
    } catch (e) {
      page = h('div', null, h('div', { class: 'page-head' }, h('h1', null, 'Could not show this page')), errorBox(e, 'Reading the chain'));
    }
    if (generation !== current.generation) return; // a newer render took over
    const scroll = window.scrollY;
    page.setAttribute('data-testid', 'page');
    page.setAttribute('data-hash', hash);
    page.setAttribute('data-route', current.nav || hash.split('/')[1] || 'status');
    view.replaceChildren(page);
    if (quiet) window.scrollTo(0, scroll);
    if (current.afterRender) current.afterRender();
    document.title = `${(page.querySelector('h1') || {}).textContent || 'vchain'} · vchain explorer`;
  }

  /** Re-renders the page in place at most once per interval (live updates come in bursts). */
  let refreshTimer = null;
  function refreshSoon() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => { refreshTimer = null; render(true); }, 400);
  }

  function search(text) {
    const q = text.trim();
    if (!q) return;
    let target;
    if (/^\d+$/.test(q)) target = `#/block/${q}`;
    else if (/^(0x)?[0-9a-fA-F]{64}$/.test(q)) target = `#/tx/${q.replace(/^0x/, '')}`;
    else if (/^V\d{12}$/i.test(q)) target = `#/voucher/${q.toUpperCase()}`;
    else if (/^R\d{12}$/i.test(q)) target = `#/pledge/${q.toUpperCase()}`;
    else if (/^P\d{12}$/i.test(q)) target = `#/proposal/${q.toUpperCase()}`;
    else target = `#/account/${encodeURIComponent(q)}`;
    location.hash = target;
  }

  function showIdentity(d) {
    $('reader').textContent = d.reader;
    $('endpoint').textContent = `${d.endpoint} (${d.chain_id})`;
  }

  // ---------------------------------------------------------------------------------------
  // Live feed
  // ---------------------------------------------------------------------------------------
  function live() {
    const dot = $('live-dot');
    const text = $('live-text');
    const banner = $('banner');
    const source = new EventSource('/api/live');
    source.onopen = () => { dot.className = 'dot on'; text.textContent = 'live'; };
    source.onerror = () => { dot.className = 'dot off'; text.textContent = 'reconnecting'; };
    source.addEventListener('head', (m) => {
      const head = JSON.parse(m.data);
      const el = $('live-height');
      if (el.textContent !== String(head.height)) {
        el.textContent = head.height;
        dot.classList.remove('pulse'); void dot.offsetWidth; dot.classList.add('pulse');
        // Pages that list the newest blocks show the new one.
        if (current.nav === 'status' || (current.hash || '').startsWith('#/blocks') && !/before=/.test(current.hash)) refreshSoon();
      }
    });
    source.addEventListener('event', (m) => {
      const e = JSON.parse(m.data);
      if (current.lineageVouchers && e.voucher_id && current.lineageVouchers.has(e.voucher_id)) refreshSoon();
      else if (current.nav === 'pledges' && kindOf(e).startsWith('PLEDGE_')) refreshSoon();
      else if (current.nav === 'proposals' && e.proposal_id) refreshSoon();
      else if ((current.hash || '').startsWith('#/account/') && (e.accounts || []).some((a) => current.hash === `#/account/${encodeURIComponent(a)}`)) refreshSoon();
    });
    source.addEventListener('node', (m) => {
      const n = JSON.parse(m.data);
      banner.hidden = !!n.reachable;
      banner.textContent = n.reachable ? '' : `The node is not answering: ${n.error || 'unreachable'}. Pages show what was last read; they update when it is back.`;
    });
    source.addEventListener('lagged', () => refreshSoon());
    // A node's own alert (not a chain event), e.g. a member that signed two blocks at a height.
    source.addEventListener('alert', (m) => {
      const alert = $('alert');
      alert.hidden = false;
      alert.textContent = `Node alert: ${m.data}`;
      if (current.nav === 'status') refreshSoon();
    });
  }

  // ---------------------------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------------------------
  window.addEventListener('hashchange', () => render(false));
  $('search').addEventListener('submit', (e) => { e.preventDefault(); search($('search-input').value); });
  api('/api/status').then(showIdentity).catch(() => {});
  live();
  render(false);
})();
