/**
 * The images `kubeadm init` runs for Kubernetes 1.31.4 besides the pause image, under their
 * upstream names (docs/upstream-facts.md#kubeadm.images; CoreDNS under its own path,
 * #kubeadm.dns-image). The uMetal lab's bundle carries stand-ins of them; the doubles' tests
 * list them as the images step leaves them in containerd.
 */
export const KUBEADM_IMAGES = [
  'registry.k8s.io/kube-apiserver:v1.31.4',
  'registry.k8s.io/kube-controller-manager:v1.31.4',
  'registry.k8s.io/kube-scheduler:v1.31.4',
  'registry.k8s.io/kube-proxy:v1.31.4',
  'registry.k8s.io/etcd:3.5.15-0',
  'registry.k8s.io/coredns/coredns:v1.11.3',
] as const;
