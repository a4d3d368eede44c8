/**
 * The site's Gitea as `kubectl port-forward svc/gitea-http` reaches it: the few API calls the
 * runbook makes (version, create a repository, read a raw file) and git over HTTP, served by
 * the real `git http-backend`. Every request must carry the admin's credentials from the
 * Secret the chart's `gitea.admin.existingSecret` names; repositories live in the double's
 * volume of the Gitea namespace, so deleting that namespace deletes them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { GITEA_NAMESPACE, giteaRepos } from './cluster.mjs';
import { readState } from './lib.mjs';

function admin() {
  const secret = readState('objects.json', {})[`Secret/${GITEA_NAMESPACE}/gitea-admin`];
  const dec = (k) => secret && Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
  return { user: dec('username'), password: dec('password') };
}

function authorised(req) {
  const { user, password } = admin();
  if (!user || !password) return false;
  const header = req.headers.authorization ?? '';
  const given = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8');
  return header.startsWith('Basic ') && given === `${user}:${password}`;
}

const send = (res, code, body, type = 'application/json') => {
  res.writeHead(code, { 'content-type': type });
  res.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
};

function createRepository(owner, spec) {
  const dir = join(giteaRepos(), owner, `${spec.name}.git`);
  if (existsSync(dir)) return false;
  mkdirSync(dir, { recursive: true });
  const branch = spec.default_branch ?? 'main';
  const git = (args, input) =>
    execFileSync('git', ['--git-dir', dir, ...args], {
      input,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Gitea',
        GIT_AUTHOR_EMAIL: 'gitea@localhost',
        GIT_COMMITTER_NAME: 'Gitea',
        GIT_COMMITTER_EMAIL: 'gitea@localhost',
      },
    }).trim();
  git(['init', '--quiet', '--bare', `--initial-branch=${branch}`]);
  git(['config', 'http.receivepack', 'true']);
  if (spec.auto_init) {
    const readme = git(['hash-object', '-w', '--stdin'], `# ${spec.name}\n`);
    const tree = git(['mktree'], `100644 blob ${readme}\tREADME.md\n`);
    const commit = git(['commit-tree', tree, '-m', 'Initial commit']);
    git(['update-ref', `refs/heads/${branch}`, commit]);
  }
  return true;
}

function backend(req, res, path, query, user) {
  const child = spawn('git', ['http-backend'], {
    env: {
      ...process.env,
      GIT_PROJECT_ROOT: giteaRepos(),
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: path,
      QUERY_STRING: query,
      REQUEST_METHOD: req.method,
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
      GIT_PROTOCOL: req.headers['git-protocol'] ?? '',
      REMOTE_USER: user,
      REMOTE_ADDR: '127.0.0.1',
    },
  });
  req.pipe(child.stdin);
  const chunks = [];
  child.stdout.on('data', (c) => chunks.push(c));
  child.on('close', () => {
    const out = Buffer.concat(chunks);
    const split = out.indexOf('\r\n\r\n');
    const head = out.subarray(0, split).toString('latin1').split('\r\n');
    let code = 200;
    const headers = {};
    for (const line of head) {
      const [k, ...v] = line.split(': ');
      if (k.toLowerCase() === 'status') code = Number(v.join(': ').split(' ')[0]);
      else headers[k] = v.join(': ');
    }
    res.writeHead(code, headers);
    res.end(out.subarray(split + 4));
  });
}

/** Serves Gitea on 127.0.0.1:port until the process is ended (the port-forward's lifetime). */
export function serveGitea(port) {
  const server = createServer((req, res) => {
    if (!authorised(req)) return send(res, 401, { message: 'unauthorized' });
    const url = new URL(req.url, 'http://127.0.0.1');
    const path = url.pathname;
    if (path === '/api/v1/version') return send(res, 200, { version: '1.22.6' });
    if (path === '/api/v1/user/repos' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const spec = JSON.parse(body);
        const created = createRepository(admin().user, spec);
        send(
          res,
          created ? 201 : 409,
          created ? { name: spec.name } : { message: 'repository already exists' },
        );
      });
      return undefined;
    }
    const raw = /^\/api\/v1\/repos\/([\w.-]+)\/([\w.-]+)\/raw\/(.+)$/.exec(path);
    if (raw) {
      const dir = join(giteaRepos(), raw[1], `${raw[2]}.git`);
      try {
        const text = execFileSync('git', ['--git-dir', dir, 'show', `HEAD:${raw[3]}`], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        return send(res, 200, text, 'text/plain');
      } catch {
        return send(res, 404, { message: 'not found' });
      }
    }
    if (/^\/[\w.-]+\/[\w.-]+\.git\//.test(path))
      return backend(req, res, path, url.search.slice(1), admin().user);
    return send(res, 404, { message: `this double does not serve ${req.method} ${path}` });
  });
  server.listen(port, '127.0.0.1');
}
