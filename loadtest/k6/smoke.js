// Smoke: one user walks every hot path once and checks the answers, including the gateway's own
// (health without a key, 401 without a key, 403 with a wrong one). Run it first: if it fails, the
// other scenarios would only measure errors.
//
//   k6 run -e API_KEY=$(cat data/api-key) loadtest/k6/smoke.js
import http from 'k6/http';
import { check } from 'k6';
import {
  BASE_URL,
  SUMMARY_TREND_STATS,
  body,
  del,
  ensurePublishedBlogs,
  expectSuccess,
  get,
  post,
  requireApiKey,
  signIn,
} from './lib.js';

export const options = {
  scenarios: {
    smoke: { executor: 'shared-iterations', vus: 1, iterations: 3 },
  },
  thresholds: {
    // every check, and no unexpected status (the 401/403 below are declared expected)
    'checks{scenario:smoke}': ['rate==1'],
    'http_req_failed{scenario:smoke}': ['rate==0'],
    'http_req_duration{scenario:smoke}': ['p(95)<500', 'p(99)<1000'],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup() {
  requireApiKey();
  return { blogs: ensurePublishedBlogs(1), run: Date.now().toString(36) };
}

export default function (data) {
  // The gateway: health needs no key; a missing key is answered at the edge; a wrong one by auth.
  for (const service of ['auth', 'blog']) {
    const res = http.get(`${BASE_URL}/${service}/health`, { tags: { name: `GET /${service}/health` } });
    expectSuccess(res, `GET /${service}/health (no key)`);
  }
  const noKey = http.get(`${BASE_URL}/blog/list/latest?page=1&limit=10`, {
    tags: { name: 'GET /blog/list/latest (no key)' },
    responseCallback: http.expectedStatuses(401),
  });
  check(noKey, {
    'no key: 401': (r) => r.status === 401,
    'no key: gateway message': () =>
      (body(noKey) || {}).message === 'permission denied: missing x-api-key header',
  });
  const wrongKey = http.get(`${BASE_URL}/blog/list/latest?page=1&limit=10`, {
    headers: { 'x-api-key': `wrong-${data.run}` },
    tags: { name: 'GET /blog/list/latest (wrong key)' },
    responseCallback: http.expectedStatuses(403),
  });
  check(wrongKey, {
    'wrong key: 403': (r) => r.status === 403,
    'wrong key: auth message': () => (body(wrongKey) || {}).message === 'permission denied: invalid x-api-key',
  });

  // Reading.
  const blog = data.blogs;
  const latest = expectSuccess(get('/blog/list/latest?page=1&limit=10', 'GET /blog/list/latest'), 'GET /blog/list/latest');
  check(latest, { 'latest: a list': (list) => Array.isArray(list) && list.length > 0 });
  const byId = expectSuccess(get(`/blog/id/${blog.ids[0]}`, 'GET /blog/id/:id'), 'GET /blog/id/:id');
  check(byId, { 'by id: the same blog': (b) => b !== null && b._id === blog.ids[0] });
  const bySlug = expectSuccess(
    get(`/blog/slug/${encodeURIComponent(blog.slugs[0])}`, 'GET /blog/slug/:slug'),
    'GET /blog/slug/:slug',
  );
  check(bySlug, { 'by slug: the same blog': (b) => b !== null && b.slug === blog.slugs[0] });
  expectSuccess(get(`/blog/list/tag/${blog.tags[0]}?page=1&limit=10`, 'GET /blog/list/tag/:tag'), 'GET /blog/list/tag/:tag');
  expectSuccess(get(`/blog/list/similar/id/${blog.ids[0]}`, 'GET /blog/list/similar/id/:id'), 'GET /blog/list/similar/id/:id');

  // An account's life: sign up, sign in, profile, refresh, sign out.
  const email = `k6-smoke-${data.run}-${__ITER}@example.com`;
  const password = 'k6-password';
  expectSuccess(post('/auth/signup/basic', { email, password, name: 'k6 smoke' }, 'POST /auth/signup/basic'), 'POST /auth/signup/basic');
  const session = signIn(email, password);
  if (!session) {
    return;
  }
  const mine = expectSuccess(get('/auth/profile/mine', 'GET /auth/profile/mine', session.tokens.accessToken), 'GET /auth/profile/mine');
  check(mine, { 'profile: the signed-in user': (user) => user !== null && user.email === email });
  const tokens = expectSuccess(
    post('/auth/token/refresh', { refreshToken: session.tokens.refreshToken }, 'POST /auth/token/refresh', session.tokens.accessToken),
    'POST /auth/token/refresh',
  );
  if (tokens) {
    expectSuccess(del('/auth/signout', 'DELETE /auth/signout', tokens.accessToken), 'DELETE /auth/signout');
  }
}
