/**
 * `${VAR}` substitution from the environment. It runs on the parsed tree, on
 * string values only, so a secret that contains `:` `#` or quotes cannot change
 * the shape of the YAML. `$${` is a literal `${`.
 */
import { isTree, joinKey, type Problems } from './reader.js';

const REF = /\$\$\{|\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Keys whose variable may be unset (commands that never contact Squidex do not
 * need the secret): the value is left as written and the key is added to `unset`.
 */
export interface Lenient {
  keys: ReadonlySet<string>;
  unset: Set<string>;
}

export function substituteEnv(
  value: unknown,
  env: Record<string, string | undefined>,
  problems: Problems,
  at: { key?: string; lenient?: Lenient } = {},
): unknown {
  const { key = '', lenient } = at;
  if (typeof value === 'string') return substituteString(value, env, problems, key, lenient);
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, problems, { key: joinKey(key, i), lenient }));
  if (isTree(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, problems, { key: joinKey(key, k), lenient });
    return out;
  }
  return value;
}

function substituteString(s: string, env: Record<string, string | undefined>, problems: Problems, key: string, lenient?: Lenient): string {
  if (!s.includes('${')) return s;
  return s.replace(REF, (match, name: string | undefined) => {
    if (match === '$${') return '${';
    if (name === undefined || !NAME.test(name)) {
      problems.error(
        key,
        `"\${${name ?? ''}}" is not a valid variable reference; use \${NAME} with letters, digits and _, or $\${ for a literal \${`,
      );
      return '';
    }
    const v = env[name];
    // An empty variable is almost always a unit file or shell that forgot to export it.
    if (v === undefined || v === '') {
      if (lenient?.keys.has(key)) {
        lenient.unset.add(key);
        return match;
      }
      problems.error(
        key,
        `environment variable ${name} is ${v === undefined ? 'not set' : 'empty'} (used as \${${name}}); set it in the environment of the daemon (systemd Environment=/EnvironmentFile=, pm2 env)`,
      );
      return '';
    }
    return v;
  });
}
