import type { Draft } from 'immer';
import type { Plan } from '../../../src/api';
import { Field } from '../components/Field';
import { useT, type TextKey } from '../i18n';
import { usePlanStore } from '../state/plan-store';

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

interface TextSpec {
  label: TextKey;
  path: string;
  get(plan: Plan): string;
  set(draft: Draft<Plan>, value: string): void;
  hint?: TextKey;
}

/** A text field per entry; lists are edited as comma-separated text. */
const SECTIONS: Array<{ title: TextKey; fields: TextSpec[] }> = [
  {
    title: 'stepSite',
    fields: [
      {
        label: 'siteName',
        path: '/site/name',
        get: (p) => p.site.name,
        set: (d, v) => void (d.site.name = v),
      },
      {
        label: 'customer',
        path: '/site/customer',
        get: (p) => p.site.customer,
        set: (d, v) => void (d.site.customer = v),
      },
      {
        label: 'location',
        path: '/site/location',
        get: (p) => p.site.location,
        set: (d, v) => void (d.site.location = v),
      },
      {
        label: 'domain',
        path: '/site/domain',
        get: (p) => p.site.domain,
        set: (d, v) => void (d.site.domain = v),
      },
      {
        label: 'ntp',
        path: '/site/ntp',
        hint: 'commaSeparated',
        get: (p) => p.site.ntp.join(', '),
        set: (d, v) => void (d.site.ntp = list(v)),
      },
      {
        label: 'dns',
        path: '/site/dns',
        hint: 'commaSeparated',
        get: (p) => p.site.dns.join(', '),
        set: (d, v) => void (d.site.dns = list(v)),
      },
    ],
  },
  {
    title: 'kubernetes',
    fields: [
      {
        label: 'version',
        path: '/kubernetes/version',
        get: (p) => p.kubernetes.version,
        set: (d, v) => void (d.kubernetes.version = v),
      },
      {
        label: 'controlPlaneVip',
        path: '/kubernetes/controlPlaneVip',
        get: (p) => p.kubernetes.controlPlaneVip,
        set: (d, v) => void (d.kubernetes.controlPlaneVip = v),
      },
      {
        label: 'podCidr',
        path: '/kubernetes/podCidr',
        get: (p) => p.kubernetes.podCidr,
        set: (d, v) => void (d.kubernetes.podCidr = v),
      },
      {
        label: 'serviceCidr',
        path: '/kubernetes/serviceCidr',
        get: (p) => p.kubernetes.serviceCidr,
        set: (d, v) => void (d.kubernetes.serviceCidr = v),
      },
    ],
  },
  {
    title: 'openstack',
    fields: [
      {
        label: 'release',
        path: '/openstack/release',
        get: (p) => p.openstack.release,
        set: (d, v) => void (d.openstack.release = v),
      },
      {
        label: 'region',
        path: '/openstack/region',
        get: (p) => p.openstack.region,
        set: (d, v) => void (d.openstack.region = v),
      },
      {
        label: 'publicVip',
        path: '/openstack/publicVip',
        get: (p) => p.openstack.publicVip,
        set: (d, v) => void (d.openstack.publicVip = v),
      },
    ],
  },
  {
    title: 'access',
    fields: [
      {
        label: 'sshUser',
        path: '/access/user',
        get: (p) => p.access.user,
        set: (d, v) => void (d.access.user = v),
      },
    ],
  },
];

/** Site, Kubernetes, OpenStack and access settings. */
export function SiteStep({ plan }: { plan: Plan }) {
  const t = useT();
  const edit = usePlanStore((s) => s.edit);
  return (
    <section className="step" aria-labelledby="site-title">
      {SECTIONS.map((section, i) => (
        <div key={section.title}>
          {i === 0 ? <h2 id="site-title">{t(section.title)}</h2> : <h3>{t(section.title)}</h3>}
          <div className="form-grid">
            {section.fields.map((f) => (
              <Field
                key={f.path}
                label={t(f.label)}
                path={f.path}
                value={f.get(plan)}
                {...(f.hint ? { hint: t(f.hint) } : {})}
                onChange={(v) => edit((d) => f.set(d, v), f.path)}
              />
            ))}
            {section.title === 'openstack' && (
              <div className="field">
                <label htmlFor="endpoint-dns">{t('endpointDns')}</label>
                <select
                  id="endpoint-dns"
                  data-path="/openstack/endpointDns"
                  value={plan.openstack.endpointDns ?? ''}
                  onChange={(e) =>
                    edit((d) => {
                      const v = e.target.value;
                      if (v === 'site-dns' || v === 'hosts-file') d.openstack.endpointDns = v;
                      else delete d.openstack.endpointDns;
                    })
                  }
                >
                  <option value="">{t('endpointDnsDefault')}</option>
                  <option value="site-dns">{t('endpointDnsSite')}</option>
                  <option value="hosts-file">{t('endpointDnsHosts')}</option>
                </select>
              </div>
            )}
            {i === 0 && (
              <>
                <div className="field">
                  <label htmlFor="env">{t('environment')}</label>
                  <select
                    id="env"
                    data-path="/site/environment"
                    value={plan.site.environment}
                    onChange={(e) =>
                      edit(
                        (d) => void (d.site.environment = e.target.value as 'poc' | 'production'),
                      )
                    }
                  >
                    <option value="poc">{t('envPoc')}</option>
                    <option value="production">{t('envProduction')}</option>
                  </select>
                </div>
                <div className="field check">
                  <label>
                    <input
                      type="checkbox"
                      data-path="/site/airGapped"
                      checked={plan.site.airGapped}
                      onChange={(e) => edit((d) => void (d.site.airGapped = e.target.checked))}
                    />{' '}
                    {t('airGapped')}
                  </label>
                </div>
              </>
            )}
          </div>
        </div>
      ))}
    </section>
  );
}
