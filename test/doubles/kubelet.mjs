/**
 * kubelet test double. `--version` answers for the bundle's pinned-binary install (uMetal's
 * kubernetes-packages step). Started by its systemd unit (through the systemctl double, when
 * kubeadm's kubelet-start phase restarts it) it runs as a daemon the way kubeadm waits for:
 * it needs the configuration kubeadm wrote (`--config`), then reports itself healthy by
 * writing /run/ustart-doubles/kubelet.healthz (kubeadm's kubelet-check) and serves until
 * SIGTERM. It runs no pods: the cluster doubles stand in for what pods would do.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { at, parseFlags, refuse, runDouble } from './lib.mjs';

const VERSION = process.env.USTART_DOUBLES_K8S_VERSION ?? '1.31.4';
const HEALTHZ = at('/run/ustart-doubles/kubelet.healthz');
let serve = false;

runDouble(
  'kubelet',
  (argv) => {
    const { flags } = parseFlags(argv, [
      'version!',
      'config',
      'kubeconfig',
      'bootstrap-kubeconfig',
      'container-runtime-endpoint',
      'node-ip',
      'pod-infra-container-image',
    ]);
    if (flags.get('version')) {
      process.stdout.write(`Kubernetes v${VERSION}\n`);
      return undefined;
    }
    const config = flags.get('config');
    // The upstream drop-in passes --config=/var/lib/kubelet/config.yaml, which kubeadm writes.
    if (!config || !existsSync(at(config)))
      refuse(`failed to load kubelet config file, path: ${config ?? '(none)'}: no such file`);
    serve = true;
    return { config, node: flags.get('node-ip') };
  },
  'host',
);

if (serve) {
  mkdirSync(dirname(HEALTHZ), { recursive: true });
  writeFileSync(HEALTHZ, `${process.pid}\n`);
  const stop = () => {
    rmSync(HEALTHZ, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Serves until stopped, like the daemon it stands for.
  setInterval(() => undefined, 1 << 30);
}
