/**
 * Container image references. On an air-gapped site nothing may name an internet registry:
 * images come from the bundle, are imported into containerd and tagged under
 * LOCAL_REGISTRY (a name under `.invalid`, which by RFC 2606 never resolves, so a missing
 * image fails at once instead of trying the internet).
 */
import type { SiteContext } from './context.js';

export const LOCAL_REGISTRY = 'bundle.ustart.invalid';

/** `registry.k8s.io/pause:3.10` as the site must reference it. */
export function image(site: SiteContext, upstream: string): string {
  if (!site.plan.site.airGapped) return upstream;
  return `${LOCAL_REGISTRY}/${upstream.slice(upstream.indexOf('/') + 1)}`;
}

/** The registry part only (for charts and kubeadm that take a registry or a prefix). */
export function registry(site: SiteContext, upstream: string): string {
  return site.plan.site.airGapped ? LOCAL_REGISTRY : upstream;
}
