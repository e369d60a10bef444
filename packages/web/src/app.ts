/**
 * The page: opens an image (file picker, drag and drop, a URL, or ?url= in the address),
 * shows its superblock, a tree of its files, one node's details with a text, hex or image
 * view and how its bytes are stored, and a terminal running toybox tools on it. Nothing
 * here decodes: two workers do (worker.ts), one for the inspector's requests and one for
 * the terminal, so the page stays responsive whatever the image's size or the tool's work.
 */
import type { Details, Entry, ErrorText, Storage, Summary } from './inspect.js';
import { isOutput, type ImageSource, type Output, type Reply, type Request } from './protocol.js';

// ---- workers --------------------------------------------------------------------------

class Stopped extends Error {}

/** Calls into one worker; restart() ends whatever it is doing (a tool that runs too long). */
class WorkerClient {
  private worker!: Worker;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; onOutput?: (o: Output) => void }>();
  /** The source this worker has open (the terminal's is opened on first use). */
  openedSource: ImageSource | undefined;

  constructor() {
    this.start();
  }

  private start(): void {
    this.worker = new Worker(new URL('worker.js', location.href), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<Reply | Output>) => {
      const m = e.data;
      const p = this.pending.get(m.id);
      if (!p) return;
      if (isOutput(m)) {
        p.onOutput?.(m);
        return;
      }
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(m.error);
    };
    this.worker.onerror = (e) => {
      const error: ErrorText = { headline: 'The worker failed.', text: e.message || 'unknown error' };
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
  }

  call<T>(req: Request, onOutput?: (o: Output) => void): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onOutput });
      this.worker.postMessage({ id, req });
    });
  }

  restart(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Stopped('stopped'));
    this.pending.clear();
    this.openedSource = undefined;
    this.start();
  }
}

const inspector = new WorkerClient();
const terminal = new WorkerClient();

// ---- DOM helpers -------------------------------------------------------------------------

type Child = Node | string | null | undefined | false;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') e.className = String(v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

function timeText(sec: number): string {
  const d = new Date(sec * 1000);
  return Number.isNaN(d.getTime()) ? String(sec) : d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

function status(text: string): void {
  $('status').textContent = text;
}

function showError(e: unknown, what?: string): void {
  const box = $('error');
  if (e instanceof Stopped) return;
  const t: ErrorText = typeof e === 'object' && e !== null && 'headline' in e ? (e as ErrorText) : { headline: 'Something went wrong.', text: String(e) };
  box.replaceChildren(el('strong', {}, (what ? `${what}: ` : '') + t.headline), el('code', {}, (t.code ? `${t.code}: ` : '') + t.text));
  box.hidden = false;
}

function clearError(): void {
  $('error').hidden = true;
}

// ---- opening -----------------------------------------------------------------------------

let current: ImageSource | undefined;
let generation = 0;

async function openImage(source: ImageSource): Promise<void> {
  const gen = ++generation;
  clearError();
  status(`opening ${source.kind === 'file' ? source.name : source.url}…`);
  $('tree').replaceChildren();
  $('detail').replaceChildren();
  setTerminalEnabled(false);
  try {
    const r = await inspector.call<{ summary: Summary; root: Entry }>({ op: 'open', source });
    if (gen !== generation) return;
    current = source;
    inspector.openedSource = source;
    renderSummary(r.summary);
    document.body.dataset.image = r.summary.name;
    renderTree(r.root);
    status('');
    setTerminalEnabled(true);
    document.title = `${r.summary.name.split('/').pop()} · erofs-js`;
  } catch (e) {
    if (gen !== generation) return;
    current = undefined;
    status('');
    $('summary').replaceChildren(el('p', { class: 'hint' }, 'No image open.'));
    showError(e, `Cannot open ${source.kind === 'file' ? source.name : source.url}`);
  }
}

function openFile(file: File): void {
  void openImage({ kind: 'file', file, name: file.name });
}

function renderSummary(s: Summary): void {
  const item = (k: string, v: Node | string, wide = false) => el('div', { class: wide ? 'wide' : undefined }, el('dt', {}, k), el('dd', { class: wide ? 'wide' : undefined, title: typeof v === 'string' ? v : undefined }, v));
  const chips = (xs: string[], cls: string) => {
    const d = document.createDocumentFragment();
    if (!xs.length) d.append('none');
    for (const x of xs) d.append(el('span', { class: `chip ${cls}` }, x));
    return d;
  };
  $('summary').replaceChildren(
    el('h2', { 'data-testid': 'image-name' }, `${s.name} (${bytesText(s.bytes)})`),
    el('dl', { 'data-testid': 'superblock' },
      item('block size', String(s.blockSize)),
      item('blocks', `${s.blocks} (${bytesText(s.blocks * s.blockSize)})`),
      item('inodes', String(s.inodes)),
      item('root nid', String(s.rootNid)),
      item('compression', chips(s.compression, 'z')),
      item('uuid', s.uuid),
      item('label', s.label || '(none)'),
      item('built', timeText(s.buildTime)),
      item('checksum', s.checksum),
      item('extra devices', String(s.extraDevices)),
      s.packedNid !== undefined && item('packed nid', s.packedNid),
      s.metaboxNid !== undefined && item('metabox nid', s.metaboxNid),
      item('features', chips(s.features, ''), true),
    ),
  );
}

// ---- the tree ----------------------------------------------------------------------------

interface TreeNode {
  entry: Entry & { error?: ErrorText };
  path: string;
  depth: number;
  row: HTMLElement;
  children?: HTMLElement;
  expanded: boolean;
}

/** Rows shown per directory before a "show more" row. */
const PAGE = 1000;
let selected: TreeNode | undefined;

function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

function makeRow(entry: Entry & { error?: ErrorText }, path: string, depth: number): TreeNode {
  const isDir = entry.type === 'dir';
  const row = el('div', {
    class: `row ${entry.type}${entry.error ? ' error' : ''}`,
    role: 'treeitem',
    'data-path': path,
    'aria-expanded': isDir ? 'false' : undefined,
    title: entry.error && `${entry.error.headline} ${entry.error.text}`,
  });
  const name = el('span', { class: 'name', style: `padding-left:${8 + depth * 16}px` },
    el('span', { class: 'twisty' }, isDir ? '▸' : ''),
    el('span', { class: 'label' }, depth === 0 ? '/' : entry.name),
    entry.target !== undefined && el('span', { class: 'target' }, ` → ${entry.target}`),
    entry.compressed && el('span', { class: 'chip z' }, 'z'),
    entry.xattrCount > 0 && el('span', { class: 'chip x', title: `${entry.xattrCount} extended attributes` }, `xattr ${entry.xattrCount}`),
  );
  const size = entry.type === 'chardev' || entry.type === 'blockdev' ? `${entry.major}, ${entry.minor}` : bytesText(entry.size);
  row.append(name, el('span', { class: 'mode' }, entry.modeString), el('span', { class: 'owner' }, `${entry.uid}:${entry.gid}`), el('span', { class: 'size' }, size));
  const node: TreeNode = { entry, path, depth, row, expanded: false };
  row.addEventListener('click', () => void activate(node));
  return node;
}

function renderTree(root: Entry): void {
  const tree = $('tree');
  const node = makeRow(root, '/', 0);
  tree.replaceChildren(node.row);
  void activate(node);
}

async function toggle(node: TreeNode): Promise<void> {
  if (node.entry.type !== 'dir') return;
  if (node.expanded) {
    node.children?.remove();
    node.children = undefined;
    node.expanded = false;
    node.row.setAttribute('aria-expanded', 'false');
    node.row.querySelector('.twisty')!.textContent = '▸';
    return;
  }
  node.expanded = true;
  node.row.setAttribute('aria-expanded', 'true');
  node.row.querySelector('.twisty')!.textContent = '▾';
  const box = el('div', { role: 'group' }, el('div', { class: 'more', style: `padding-left:${24 + (node.depth + 1) * 16}px` }, 'loading…'));
  node.children = box;
  node.row.after(box);
  try {
    const entries = await inspector.call<(Entry & { error?: ErrorText })[]>({ op: 'list', nid: node.entry.nid });
    if (node.children !== box) return;
    const show = (from: number) => {
      const frag = document.createDocumentFragment();
      for (const e of entries.slice(from, from + PAGE)) frag.append(makeRow(e, childPath(node.path, e.name), node.depth + 1).row);
      if (from + PAGE < entries.length) {
        const more = el('div', { class: 'more', style: `padding-left:${24 + (node.depth + 1) * 16}px` }, `show ${Math.min(PAGE, entries.length - from - PAGE)} more of ${entries.length - from - PAGE}…`);
        more.addEventListener('click', () => {
          more.replaceWith(show(from + PAGE));
        });
        frag.append(more);
      }
      return frag;
    };
    box.replaceChildren(entries.length ? show(0) : el('div', { class: 'more', style: `padding-left:${24 + (node.depth + 1) * 16}px` }, '(empty)'));
  } catch (e) {
    box.replaceChildren(el('div', { class: 'more' }, 'cannot list this directory'));
    showError(e, node.path);
  }
}

async function activate(node: TreeNode): Promise<void> {
  selected?.row.classList.remove('selected');
  node.row.classList.add('selected');
  selected = node;
  if (node.entry.type === 'dir') void toggle(node);
  await showDetails(node);
}

// ---- details, storage and the viewer -----------------------------------------------------

let detailToken = 0;

async function showDetails(node: TreeNode): Promise<void> {
  const token = ++detailToken;
  const pane = $('detail');
  if (node.entry.error) {
    const t = node.entry.error;
    pane.replaceChildren(el('h2', { 'data-testid': 'detail-path' }, node.path), el('p', { class: 'empty', 'data-testid': 'node-error' }, `${t.headline} ${t.code ? `(${t.code}) ` : ''}${t.text}`));
    return;
  }
  let d: Details;
  try {
    d = await inspector.call<Details>({ op: 'details', nid: node.entry.nid, name: node.entry.name });
  } catch (e) {
    if (token !== detailToken) return;
    const t = e as ErrorText;
    pane.replaceChildren(el('h2', { 'data-testid': 'detail-path' }, node.path), el('p', { class: 'empty', 'data-testid': 'node-error' }, `${t.headline ?? ''} ${t.code ? `(${t.code}) ` : ''}${t.text ?? e}`));
    return;
  }
  if (token !== detailToken) return;
  const rows: [string, string][] = [
    ['type', d.type],
    ['mode', `${d.modeString} (0${(d.mode & 0o7777).toString(8)})`],
    ['owner', `uid ${d.uid}, gid ${d.gid}`],
    ['size', `${d.size} bytes${d.size >= 1024 ? ` (${bytesText(d.size)})` : ''}`],
    ['links', String(d.nlink)],
    ['modified', `${timeText(d.mtime)}${d.mtimeNsec ? ` + ${d.mtimeNsec} ns` : ''}`],
    ['nid / ino', `${d.nidText} / ${d.ino}`],
    ['inode', `${d.extended ? 'extended' : 'compact'}, ${d.inodeSize} bytes`],
  ];
  if (d.target !== undefined) rows.push(['target', d.target]);
  if (d.major !== undefined) rows.push(['device', `${d.major}, ${d.minor}`]);
  if (d.nameHex) rows.push(['name bytes', d.nameHex]);
  if (!d.xattrs.length) rows.push(['xattrs', 'none']);
  const storageBox = el('div', { 'data-testid': 'storage' }, el('p', { class: 'note' }, 'mapping extents…'));
  const viewBox = el('div', { 'data-testid': 'viewer' });
  const mapped = d.type === 'file' || d.type === 'dir' || d.type === 'symlink';
  const parts: Child[] = [
    el('h2', { 'data-testid': 'detail-path' }, node.path),
    el('div', { class: 'facts' },
      el('div', {}, el('h3', {}, 'inode'), el('table', { class: 'kv', 'data-testid': 'stat' }, ...rows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v))))),
      mapped && el('div', {}, el('h3', {}, 'storage'), storageBox),
    ),
  ];
  if (d.xattrs.length) {
    parts.push(el('h3', {}, `extended attributes (${d.xattrs.length})`));
    parts.push(el('table', { class: 'list', 'data-testid': 'xattrs' },
      el('tr', {}, el('th', {}, 'name'), el('th', {}, 'value'), el('th', {}, 'size')),
      ...d.xattrs.map((x) => el('tr', {}, el('td', {}, x.name), el('td', { class: 'value' }, x.text !== null ? JSON.stringify(x.text) : `0x${x.hex}${x.size > 256 ? '…' : ''}`), el('td', {}, `${x.size}${x.shared ? ' shared' : ''}`))),
    ));
  }
  if (d.type === 'file') parts.push(el('h3', {}, 'content'), viewBox);
  pane.replaceChildren(...(parts.filter(Boolean) as Node[]));
  if (mapped) void showStorage(d, storageBox, token);
  if (d.type === 'file') void showContent(d, viewBox, token);
}

async function showStorage(d: Details, box: HTMLElement, token: number): Promise<void> {
  let s: Storage;
  try {
    s = await inspector.call<Storage>({ op: 'storage', nid: d.nid });
  } catch (e) {
    if (token !== detailToken) return;
    box.replaceChildren(el('p', { class: 'empty' }, (e as ErrorText).headline ?? String(e)), el('p', { class: 'note' }, (e as ErrorText).text ?? ''));
    return;
  }
  if (token !== detailToken) return;
  const algs = Object.entries(s.algorithms).map(([a, n]) => `${a} × ${n}`).join(', ');
  const rows: [string, Child][] = [['layout', s.layout], ['extents', `${s.extents}${s.truncated ? '+ (stopped counting)' : ''}`]];
  if (s.pclusters) {
    rows.push(['pclusters', `${s.pclusters} (${algs})${s.tailPacked ? `, ${s.tailPacked} tail-packed in the inode` : ''}`]);
    rows.push(['compressed', `${bytesText(s.pclusterLogical)} → ${bytesText(s.pclusterBytes)}`]);
  }
  if (s.dataBytes) rows.push(['uncompressed', bytesText(s.dataBytes)]);
  if (s.inlineBytes) rows.push(['inline', `${s.inlineBytes} bytes after the inode`]);
  if (s.fragmentBytes) rows.push(['fragments', `${bytesText(s.fragmentBytes)} in the packed inode`]);
  if (s.holeBytes) rows.push(['holes', bytesText(s.holeBytes)]);
  if (s.ratio !== null && s.pclusters) {
    const pct = Math.min(100, Math.round(100 / s.ratio));
    const bar = el('span', { class: 'bar-ratio', style: `width:${Math.max(2, pct)}px` });
    rows.push(['ratio', el('span', { title: `stored in ${pct}% of its size` }, `${s.ratio.toFixed(2)} : 1 (${pct}%)`, bar)]);
  }
  const table = el('table', { class: 'kv' }, ...rows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v))));
  const list = s.first.length
    ? el('details', {},
        el('summary', { class: 'note' }, `first ${s.first.length} extents`),
        el('table', { class: 'list' },
          el('tr', {}, el('th', {}, 'offset'), el('th', {}, 'length'), el('th', {}, 'kind'), el('th', {}, 'at byte'), el('th', {}, 'stored')),
          ...s.first.map((x) => el('tr', {}, el('td', {}, String(x.logical)), el('td', {}, String(x.length)), el('td', {}, x.kind === 'pcluster' ? `${x.algorithm} pcluster` : x.kind), el('td', {}, x.kind === 'hole' ? '' : `${x.device ? `dev ${x.device}: ` : ''}${x.physical}${x.inMeta ? ' (inline)' : ''}`), el('td', {}, x.plen !== undefined ? String(x.plen) : ''))),
        ),
      )
    : null;
  box.replaceChildren(table, list ?? '');
}

/** The image formats the viewer previews, by their first bytes. */
function imageType(b: Uint8Array): string | null {
  const at = (s: number, ...xs: number[]) => xs.every((x, i) => b[s + i] === x);
  if (at(0, 0x89, 0x50, 0x4e, 0x47)) return 'image/png';
  if (at(0, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (at(0, 0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'image/webp';
  if (at(0, 0x42, 0x4d)) return 'image/bmp';
  if (at(0, 0x00, 0x00, 0x01, 0x00)) return 'image/x-icon';
  const head = new TextDecoder().decode(b.subarray(0, 256)).trimStart();
  if (/^(<\?xml[^>]*>\s*)?<svg[\s>]/.test(head)) return 'image/svg+xml';
  return null;
}

function isText(b: Uint8Array): boolean {
  if (b.includes(0)) return false;
  try {
    // A UTF-8 sequence cut at the end of the sample is still text.
    new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(0, Math.max(0, b.length - 4)));
    return true;
  } catch {
    return false;
  }
}

function hexDump(b: Uint8Array, base: number): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 16) {
    const row = b.subarray(i, i + 16);
    let h = '';
    let a = '';
    for (let k = 0; k < 16; k++) {
      h += k < row.length ? row[k].toString(16).padStart(2, '0') + ' ' : '   ';
      if (k === 7) h += ' ';
      if (k < row.length) a += row[k] >= 0x20 && row[k] < 0x7f ? String.fromCharCode(row[k]) : '.';
    }
    lines.push(`${(base + i).toString(16).padStart(8, '0')}  ${h} |${a}|`);
  }
  return lines.join('\n');
}

const TEXT_CHUNK = 256 << 10;
const HEX_CHUNK = 64 << 10;
const IMAGE_MAX = 32 << 20;

async function showContent(d: Details, box: HTMLElement, token: number): Promise<void> {
  if (d.size === 0) {
    box.replaceChildren(el('p', { class: 'empty' }, 'empty file'));
    return;
  }
  let head: Uint8Array;
  try {
    head = await inspector.call<Uint8Array>({ op: 'read', nid: d.nid, offset: 0, length: Math.min(d.size, TEXT_CHUNK) });
  } catch (e) {
    if (token !== detailToken) return;
    const t = e as ErrorText;
    box.replaceChildren(el('p', { class: 'empty', 'data-testid': 'read-error' }, `${t.headline ?? 'Cannot read this file.'} ${t.code ? `(${t.code}) ` : ''}${t.text ?? ''}`));
    return;
  }
  if (token !== detailToken) return;
  const img = imageType(head);
  const modes: ('text' | 'hex' | 'image')[] = [];
  if (img && d.size <= IMAGE_MAX) modes.push('image');
  if (isText(head)) modes.push('text');
  modes.push('hex');
  if (!modes.includes('text')) modes.push('text');
  const tabs = el('div', { class: 'tabs', role: 'tablist' });
  const body = el('div');
  let url: string | undefined;
  const render = async (mode: (typeof modes)[number]) => {
    for (const b of tabs.children) b.setAttribute('aria-selected', String((b as HTMLElement).dataset.mode === mode));
    if (mode === 'text') {
      const pre = el('pre', { class: 'view', 'data-testid': 'text-view' }, new TextDecoder().decode(head));
      body.replaceChildren(pre, d.size > head.length ? el('p', { class: 'note' }, `the first ${bytesText(head.length)} of ${bytesText(d.size)}`) : '');
    } else if (mode === 'hex') {
      let shown = Math.min(head.length, HEX_CHUNK);
      const pre = el('pre', { class: 'view hex', 'data-testid': 'hex-view' }, hexDump(head.subarray(0, shown), 0));
      const more = el('button', { type: 'button' }, 'more');
      const note = el('p', { class: 'note' });
      const update = () => {
        note.replaceChildren(`bytes 0 to ${shown} of ${d.size} `, shown < d.size ? more : '');
      };
      more.addEventListener('click', async () => {
        const next = await inspector.call<Uint8Array>({ op: 'read', nid: d.nid, offset: shown, length: HEX_CHUNK });
        pre.append('\n' + hexDump(next, shown));
        shown += next.length;
        update();
      });
      update();
      body.replaceChildren(pre, note);
    } else {
      body.replaceChildren(el('p', { class: 'note' }, 'loading…'));
      const all = d.size <= head.length ? head : await inspector.call<Uint8Array>({ op: 'read', nid: d.nid, offset: 0, length: d.size });
      if (token !== detailToken) return;
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(new Blob([all as BlobPart], { type: img! }));
      body.replaceChildren(el('img', { class: 'view-img', src: url, alt: d.name, 'data-testid': 'image-view' }));
    }
  };
  for (const m of modes) {
    const b = el('button', { type: 'button', role: 'tab', 'data-mode': m }, m);
    b.addEventListener('click', () => void render(m));
    tabs.append(b);
  }
  box.replaceChildren(tabs, body);
  await render(modes[0]);
}

// ---- the terminal ------------------------------------------------------------------------

const commands: string[] = [];
let historyAt = 0;
let running = false;
const OUTPUT_MAX = 400_000;

function setTerminalEnabled(on: boolean): void {
  const input = $<HTMLInputElement>('term-in');
  input.disabled = !on;
  input.placeholder = on ? 'ls -l /   (help lists the tools)' : 'open an image first';
}

function termWrite(text: string, cls?: string): void {
  const out = $('term-out');
  out.append(cls ? el('span', { class: cls }, text) : text);
  // Keep the pane bounded: drop the oldest output.
  while ((out.textContent?.length ?? 0) > OUTPUT_MAX && out.firstChild) out.firstChild.remove();
  out.scrollTop = out.scrollHeight;
}

async function runLine(line: string): Promise<void> {
  termWrite(`$ ${line}\n`, 'cmd');
  running = true;
  $<HTMLButtonElement>('stop').disabled = false;
  const decoders = { 1: new TextDecoder(), 2: new TextDecoder() };
  try {
    if (line.trim() === 'clear') {
      $('term-out').replaceChildren();
      return;
    }
    if (!current) {
      termWrite('no image is open\n', 'err');
      return;
    }
    if (terminal.openedSource !== current) {
      await terminal.call({ op: 'open', source: current });
      terminal.openedSource = current;
    }
    const code = await terminal.call<number>({ op: 'run', line }, (o) => termWrite(decoders[o.fd].decode(o.data, { stream: true }), o.fd === 2 ? 'err' : undefined));
    if (code !== 0) termWrite(`[exit ${code}]\n`, 'exit');
  } catch (e) {
    if (e instanceof Stopped) termWrite('^C stopped\n', 'exit');
    else termWrite(`${(e as ErrorText).headline ?? ''} ${(e as ErrorText).text ?? e}\n`, 'err');
  } finally {
    running = false;
    $<HTMLButtonElement>('stop').disabled = true;
    // For scripts driving the page (the tests): how many command lines have finished.
    const t = $('terminal');
    t.dataset.runs = String(Number(t.dataset.runs ?? 0) + 1);
  }
}

function stopTool(): void {
  if (running) terminal.restart();
}

// ---- wiring ------------------------------------------------------------------------------

function wire(): void {
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) openFile(f);
    (e.target as HTMLInputElement).value = '';
  });
  $('open-url').addEventListener('submit', (e) => {
    e.preventDefault();
    const url = $<HTMLInputElement>('url').value.trim();
    if (!url) return;
    const abs = new URL(url, location.href).href;
    window.history.replaceState(null, '', `?url=${encodeURIComponent(url)}`);
    void openImage({ kind: 'url', url: abs });
  });
  // Drag and drop anywhere on the page.
  const drop = $('drop');
  let depth = 0;
  window.addEventListener('dragenter', (e) => {
    if (!e.dataTransfer?.types.includes('Files')) return;
    depth++;
    drop.hidden = false;
  });
  window.addEventListener('dragleave', () => {
    if (--depth <= 0) {
      depth = 0;
      drop.hidden = true;
    }
  });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    drop.hidden = true;
    const f = e.dataTransfer?.files?.[0];
    if (f) openFile(f);
  });
  const input = $<HTMLInputElement>('term-in');
  $('term-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const line = input.value;
    input.value = '';
    if (running) return;
    if (line.trim()) commands.push(line);
    historyAt = commands.length;
    void runLine(line);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'c' && e.ctrlKey) {
      stopTool();
      e.preventDefault();
    } else if (e.key === 'ArrowUp' && historyAt > 0) {
      input.value = commands[--historyAt];
      e.preventDefault();
    } else if (e.key === 'ArrowDown') {
      historyAt = Math.min(commands.length, historyAt + 1);
      input.value = commands[historyAt] ?? '';
      e.preventDefault();
    }
  });
  $('stop').addEventListener('click', stopTool);
  const url = new URLSearchParams(location.search).get('url');
  if (url) {
    $<HTMLInputElement>('url').value = url;
    void openImage({ kind: 'url', url: new URL(url, location.href).href });
  }
  // Offline once loaded: a service worker keeps the page, its scripts and the tools.
  if ('serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker.register('sw.js').catch(() => {});
  }
}

wire();
