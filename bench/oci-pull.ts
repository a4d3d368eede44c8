/**
 * Images from a registry into an OCI layout: pullImages vs `skopeo copy docker://… oci:…` of the same images (goal ≥ 1.0×).
 *
 * A local registry (Debian's docker-registry, token auth against a token server run here,
 * as the public registries do it) holds N single-platform images of random, incompressible
 * layers, 200 MiB in all by default (`--mib 2048` or OCI_BENCH_MIB=2048 for the issue's
 * 2 GiB). Each round pulls them all with an empty cache, three ways, in a rotating order:
 * pullImages (every blob's sha256 checked while it streams, 4 downloads at once), skopeo
 * copying one image after another (what a script does), and skopeo copying all images at
 * once (one process per image). The ratio is taken against the faster skopeo within each
 * round; the table shows medians. One warm-up copy first so the registry's files are in the
 * page cache for every side.
 *
 *   node bin/run-ts.mjs bench/oci-pull.ts [--mib 200] [--images 4] [--rounds 3] [--concurrency 4]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { pullImages } from '../src/bundle/oci/index.js';
import {
  buildImage,
  Pusher,
  startRegistry,
  startTokenServer,
  writeLayerFile,
} from '../test/support/oci-registry.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: process.env.OCI_BENCH_MIB ?? '200' },
    images: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
  },
});
const totalMib = Number(values.mib);
const imageCount = Number(values.images);
const rounds = Number(values.rounds);
const LAYERS_PER_IMAGE = 4;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(join(tmpdir(), 'ustart-bench-oci-'));
const stops: (() => Promise<void>)[] = [];
try {
  const tokens = await startTokenServer(join(dir, 'tokens'));
  stops.push(() => tokens.stop());
  const registry = await startRegistry({ dir: join(dir, 'registry'), tokenServer: tokens });
  stops.push(() => registry.stop());
  const push = new Pusher(registry, tokens);
  const layerBytes = Math.floor((totalMib * MIB) / (imageCount * LAYERS_PER_IMAGE));
  const refs: string[] = [];
  let totalBytes = 0;
  for (let i = 0; i < imageCount; i++) {
    const layers = [];
    for (let l = 0; l < LAYERS_PER_IMAGE; l++) {
      const layer = await writeLayerFile(join(dir, `layer-${i}-${l}.tar`), layerBytes);
      layers.push(layer);
      totalBytes += layer.size;
    }
    await push.image(
      `bench/image${i}`,
      '1.0',
      buildImage('oci', { os: 'linux', architecture: 'amd64' }, {}, layers),
    );
    for (let l = 0; l < LAYERS_PER_IMAGE; l++) await rm(join(dir, `layer-${i}-${l}.tar`));
    refs.push(`${registry.host}/bench/image${i}:1.0`);
  }
  console.log(
    `  ${imageCount} images × ${LAYERS_PER_IMAGE} layers, ${(totalBytes / MIB).toFixed(0)} MiB in all; ${rounds} rounds`,
  );

  let n = 0;
  const skopeoCopy = (ref: string, out: string) =>
    run(
      'skopeo',
      ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${out}:${ref}`],
      { maxBuffer: 16 * MIB },
    );
  const sides: Record<string, () => Promise<void>> = {
    pullImages: async () => {
      const out = join(dir, `out-${++n}`);
      await pullImages({
        images: refs,
        out,
        cacheDir: join(dir, `cache-${n}`),
        concurrency: Number(values.concurrency),
      });
    },
    'skopeo, one by one': async () => {
      const out = join(dir, `out-${++n}`);
      for (const ref of refs) await skopeoCopy(ref, out);
    },
    'skopeo, all at once': async () => {
      const base = join(dir, `out-${++n}`);
      await Promise.all(refs.map((ref, i) => skopeoCopy(ref, `${base}-${i}`)));
    },
  };
  await sides['skopeo, one by one']!();
  await rm(join(dir, `out-${n}`), { recursive: true, force: true });

  const names = Object.keys(sides);
  const seconds: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    const round: Record<string, number> = {};
    for (const name of order) {
      const started = performance.now();
      await sides[name]!();
      round[name] = (performance.now() - started) / 1000;
      seconds[name]!.push(round[name]);
      // Outputs and caches go at once: the next side starts with the same free page cache.
      await run('sh', ['-c', `rm -rf ${dir}/out-* ${dir}/cache-*`]);
    }
    const skopeo = Math.min(round['skopeo, one by one']!, round['skopeo, all at once']!);
    ratios.push(skopeo / round.pullImages!);
  }
  for (const name of names) {
    const s = median(seconds[name]!);
    console.log(
      `  ${name.padEnd(22)} ${(totalBytes / MIB / s).toFixed(0).padStart(6)} MiB/s  (median ${s.toFixed(2)} s)`,
    );
  }
  console.log(
    `  pullImages / faster skopeo: ${median(ratios).toFixed(2)}× (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')}; goal ≥ 1.0×)`,
  );
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
