import { useMemo } from 'react';
import { ROLES, type Plan, type Role } from '../../../src/api';
import { FindingLink } from '../components/FindingLink';
import { useT } from '../i18n';
import { stepShowsFamily } from '../logic/finding-steps';
import { useFindingsStore } from '../state/findings-store';
import { usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';

/** Assign roles to many servers at once, with the rules about roles shown live. */
export function RolesStep({ plan }: { plan: Plan }) {
  const t = useT();
  const edit = usePlanStore((s) => s.edit);
  const selected = useUiStore((s) => s.selected);
  const select = useUiStore((s) => s.select);
  const allFindings = useFindingsStore((s) => s.findings);
  const findings = useMemo(
    () => allFindings.filter((f) => stepShowsFamily('roles', f.family)),
    [allFindings],
  );
  const setRole = (role: Role, on: boolean) =>
    edit((d) => {
      for (const i of selected) {
        const s = d.servers[i]!;
        s.roles = on ? [...new Set([...s.roles, role])] : s.roles.filter((r) => r !== role);
        s.roles.sort((a, b) => ROLES.indexOf(a) - ROLES.indexOf(b));
      }
    });
  const all = plan.servers.length > 0 && selected.size === plan.servers.length;
  return (
    <section className="step" aria-labelledby="roles-title">
      <h2 id="roles-title">{t('stepRoles')}</h2>
      <div className="toolbar">
        <span>
          {selected.size} {t('selectedCount')}
        </span>
        {ROLES.map((role) => (
          <span key={role} className="role-buttons">
            <button
              type="button"
              disabled={selected.size === 0}
              data-testid={`assign-${role}`}
              onClick={() => setRole(role, true)}
            >
              + {t(role)}
            </button>
            <button
              type="button"
              disabled={selected.size === 0}
              data-testid={`remove-${role}`}
              onClick={() => setRole(role, false)}
            >
              − {t(role)}
            </button>
          </span>
        ))}
      </div>
      <div className="roles-layout">
        <table className="roles">
          <thead>
            <tr>
              <th>
                <input
                  type="checkbox"
                  aria-label="all"
                  checked={all}
                  onChange={() => select(all ? [] : plan.servers.map((_, i) => i))}
                />
              </th>
              <th>{t('hostname')}</th>
              <th>{t('rack')}</th>
              {ROLES.map((r) => (
                <th key={r}>{t(r)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {plan.servers.map((s, i) => (
              <tr
                key={i}
                className={selected.has(i) ? 'selected' : ''}
                data-testid={`role-row-${s.hostname}`}
              >
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${s.hostname}`}
                    checked={selected.has(i)}
                    onChange={() => {
                      const next = new Set(selected);
                      if (next.has(i)) next.delete(i);
                      else next.add(i);
                      select(next);
                    }}
                  />
                </td>
                <td>{s.hostname}</td>
                <td>{s.rack}</td>
                {ROLES.map((r) => (
                  <td key={r}>
                    <input
                      type="checkbox"
                      data-path={`/servers/${i}/roles`}
                      aria-label={`${r} ${s.hostname}`}
                      checked={s.roles.includes(r)}
                      onChange={(e) =>
                        edit((d) => {
                          const server = d.servers[i]!;
                          server.roles = e.target.checked
                            ? [...server.roles, r]
                            : server.roles.filter((x) => x !== r);
                          server.roles.sort((a, b) => ROLES.indexOf(a) - ROLES.indexOf(b));
                        })
                      }
                    />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        <aside className="rules" aria-live="polite" data-testid="role-rules">
          <h3>{t('roleRules')}</h3>
          {findings.length === 0 ? (
            <p>{t('allRulesPass')}</p>
          ) : (
            <ul>
              {findings.map((f, i) => (
                <li key={i}>
                  <FindingLink finding={f} />
                </li>
              ))}
            </ul>
          )}
        </aside>
      </div>
    </section>
  );
}
