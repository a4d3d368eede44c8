/**
 * kubelet test double: it only answers `--version`, for the bundle's pinned-binary install
 * (uMetal's kubernetes-packages step). The lab never starts a kubelet: the kubeadm double
 * stands in for everything a kubelet would do for kubeadm.
 */
import { parseFlags, refuse, runDouble } from './lib.mjs';

const VERSION = process.env.USTART_DOUBLES_K8S_VERSION ?? '1.31.4';

runDouble('kubelet', (argv) => {
  const { flags } = parseFlags(argv, ['version!']);
  if (!flags.get('version'))
    refuse(`this double does not run a kubelet ("kubelet ${argv.join(' ')}")`, 2);
  process.stdout.write(`Kubernetes v${VERSION}\n`);
  return undefined;
});
