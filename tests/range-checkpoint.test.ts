/**
 * Checkpoints of mounts of images behind a URL: the object's identity pinned at open (size
 * and ETag, or Last-Modified) is recorded, without the URL's query or any header value,
 * and a restore refuses an object that changed since, naming the mount and the field.
 * Against the loopback HTTP server of tests/range-server.ts (a child process).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HostController } from '../packages/mount/src/node/controller.js';
import { CheckpointError, parseCheckpoint, type Checkpoint, type ImageRequest } from '../packages/mount/src/checkpoint.js';
import { readAll } from '../packages/mount/test/helpers.js';
import { FIXTURES, fixtureBytes, readJsonl } from './fixtures.js';
import { ServerProcess } from './range-server.js';

const IMAGE = 'basic-18-lz4.erofs';
const files = readJsonl<{ path?: string; type: string; sha256?: string }>(FIXTURES + IMAGE.replace(/\.erofs$/, '.manifest.jsonl')).filter((r) => r.type === 'file' && typeof r.path === 'string' && r.sha256);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let server: ServerProcess;
beforeAll(async () => {
  server = await ServerProcess.start();
});
afterAll(() => server.close());
beforeEach(() => server.set({ sendEtag: true, sendLastModified: true }));

/** A controller with the image at `path` mounted on /mnt (by URL, with a query and a header), a task inside, and its checkpoint. */
async function saved(path: string): Promise<{ cp: Checkpoint; name: string }> {
  const c = await HostController.create({ mkdirs: ['/mnt'] });
  try {
    await c.mount({ image: { url: server.url(path) + '?X-Amz-Signature=sekrit', headers: { authorization: 'Bearer hunter2' } }, target: '/mnt' });
    const t = c.task();
    t.chdir('/mnt' + files[0].path!.replace(/\/[^/]*$/, ''));
    return { cp: JSON.parse(JSON.stringify(c.save())), name: server.url(path) };
  } finally {
    c.close();
  }
}

/** A host that reopens the recorded URL (with the header again) and remembers what restore asked. */
function host(asked: ImageRequest[] = []) {
  return {
    openImage(req: ImageRequest) {
      asked.push(req);
      return { url: req.name, headers: { authorization: 'Bearer hunter2' } };
    },
  };
}

function refused(e: unknown): CheckpointError {
  expect(e).toBeInstanceOf(CheckpointError);
  return e as CheckpointError;
}

describe('checkpoints of remote images record the pinned object and restore checks it', () => {
  it('records size and ETag, never the query or header values; an unchanged object restores and reads right', async () => {
    await server.put('/a/' + IMAGE, fixtureBytes(IMAGE));
    const { cp, name } = await saved('/a/' + IMAGE);
    const m = cp.mounts[1];
    expect(m.image!.name).toBe(name);
    expect(m.image!.remote).toEqual({ size: fixtureBytes(IMAGE).length, etag: expect.stringMatching(/^"[0-9a-f]{16}"$/), lastModified: expect.any(String) });
    expect(JSON.stringify(cp)).not.toMatch(/sekrit|hunter2|Amz/);
    const asked: ImageRequest[] = [];
    const { controller, tasks } = await HostController.restore(cp, host(asked));
    try {
      expect(asked[0].remote).toEqual(m.image!.remote);
      for (const f of files) expect(sha256(readAll(tasks[0], '/mnt' + f.path)), f.path).toBe(f.sha256);
      // And a checkpoint of the restored namespace records the same object.
      expect(controller.save().mounts[1].image!.remote).toEqual(m.image!.remote);
    } finally {
      controller.close();
    }
  });

  it('an object replaced since (same bytes, new ETag) is refused naming the mount and the field', async () => {
    await server.put('/b/' + IMAGE, fixtureBytes(IMAGE));
    const { cp, name } = await saved('/b/' + IMAGE);
    const before = cp.mounts[1].image!.remote!.etag;
    await server.put('/b/' + IMAGE, fixtureBytes(IMAGE));
    const e = refused(await HostController.restore(cp, host()).catch((x) => x));
    expect(e.reason).toBe('image-mismatch');
    expect(e.code).toBe('ENXIO');
    expect(e.at).toBe('mounts[1].image.remote.etag');
    expect(e.message).toMatch(new RegExp(`^ENXIO: mount 2 \\(/mnt\\): "${name.replace(/[.]/g, '\\.')}" changed since the checkpoint: ETag "[0-9a-f]{16}", recorded ${before}$`));
  });

  it('a server that sends only Last-Modified: recorded and checked; losing the ETag counts as a change', async () => {
    await server.set({ sendEtag: false });
    await server.put('/c/' + IMAGE, fixtureBytes(IMAGE));
    const { cp } = await saved('/c/' + IMAGE);
    expect(Object.keys(cp.mounts[1].image!.remote!).sort()).toEqual(['lastModified', 'size']);
    (await HostController.restore(cp, host())).controller.close();
    await server.put('/c/' + IMAGE, fixtureBytes(IMAGE));
    const e = refused(await HostController.restore(cp, host()).catch((x) => x));
    expect(e.at).toBe('mounts[1].image.remote.lastModified');
    expect(e.message).toMatch(/changed since the checkpoint: Last-Modified .* GMT, recorded .* GMT$/);
    // Recorded with an ETag, reopened from a server that sends none: not provably the same.
    await server.set({ sendEtag: true });
    await server.put('/d/' + IMAGE, fixtureBytes(IMAGE));
    const d = await saved('/d/' + IMAGE);
    await server.set({ sendEtag: false });
    const g = refused(await HostController.restore(d.cp, host()).catch((x) => x));
    expect(g.at).toBe('mounts[1].image.remote.etag');
    expect(g.message).toMatch(/ETag none, recorded "/);
  });

  it('a host that maps the URL to a local copy of the same image is left to the superblock identity', async () => {
    await server.put('/e/' + IMAGE, fixtureBytes(IMAGE));
    const { cp } = await saved('/e/' + IMAGE);
    const { controller, tasks } = await HostController.restore(cp, { openImage: () => ({ bytes: fixtureBytes(IMAGE) }) });
    try {
      expect(sha256(readAll(tasks[0], '/mnt' + files[0].path))).toBe(files[0].sha256);
      expect(controller.save().mounts[1].image!.remote).toBeUndefined();
    } finally {
      controller.close();
    }
    // A different image under the recorded URL: the superblock identity refuses it, as for host files.
    await server.put('/e/' + IMAGE, fixtureBytes('basic-18.erofs'));
    const e = refused(await HostController.restore(cp, host()).catch((x) => x));
    expect(e.reason).toBe('image-mismatch');
  });

  it('the remote sections are validated like every other field', async () => {
    await server.put('/f/' + IMAGE, fixtureBytes(IMAGE));
    const { cp } = await saved('/f/' + IMAGE);
    const bad = (change: (im: Record<string, unknown>) => void, pattern: RegExp) => {
      const copy = JSON.parse(JSON.stringify(cp));
      change(copy.mounts[1].image);
      expect(() => parseCheckpoint(copy)).toThrow(pattern);
    };
    bad((im) => ((im.remote as Record<string, unknown>).headers = { authorization: 'x' }), /mounts\[1\]\.image\.remote: unknown field "headers"/);
    bad((im) => ((im.remote as Record<string, unknown>).size = -1), /mounts\[1\]\.image\.remote\.size: -1 is outside/);
    bad((im) => ((im.remote as Record<string, unknown>).etag = 'x'.repeat(2000)), /mounts\[1\]\.image\.remote\.etag/);
    bad((im) => (im.deviceRemotes = [null]), /mounts\[1\]\.image\.deviceRemotes: has 1 entries for 0 devices/);
    bad((im) => delete (im.remote as Record<string, unknown>).size, /mounts\[1\]\.image\.remote: field size is missing/);
  });
});
