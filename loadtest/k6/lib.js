// Shared by the k6 scenarios: where the stack is, the API key, requests that check gomicro's envelope
// ({code, status, message, data}, api.md 0.1), sign-in, and the setup step that makes sure there are
// published blogs to read.
//
// Environment (k6 run -e NAME=value):
//   BASE_URL        the gateway (default http://localhost:8000, `cargo xtask up` and compose)
//   API_KEY         the x-api-key: `cat data/api-key` (xtask up) or `docker compose logs seed`
//   ADMIN_EMAIL     the seeded user holding every role (default admin@afteracademy.com)
//   ADMIN_PASSWORD  its password: `cat data/admin-password` (xtask up) or `docker compose logs seed`

import http from 'k6/http';
import { check, fail } from 'k6';

export const BASE_URL = (__ENV.BASE_URL || 'http://localhost:8000').replace(/\/+$/, '');
export const API_KEY = __ENV.API_KEY || '';
const ADMIN_EMAIL = __ENV.ADMIN_EMAIL || 'admin@afteracademy.com';
const ADMIN_PASSWORD = __ENV.ADMIN_PASSWORD || '';

/** Trend stats of the end-of-test summary: p(99) is not among k6's defaults. */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];

/** An integer from the environment, or `fallback`. */
export function envInt(name, fallback) {
  const value = parseInt(__ENV[name] || '', 10);
  return Number.isFinite(value) ? value : fallback;
}

/** Fails the run at once (call it in setup()) when no API key was given. */
export function requireApiKey() {
  if (!API_KEY) {
    fail(
      'API_KEY is not set: k6 run -e API_KEY=$(cat data/api-key) ... ' +
        '(cargo xtask up prints it; with compose: docker compose logs seed)',
    );
  }
}

/** Request parameters: the API key, JSON, an optional bearer token, and a `name` tag that groups
 * URLs with ids in them (GET /blog/id/:id) into one line of the summary and one threshold. */
export function params(name, token, extra) {
  const headers = { 'x-api-key': API_KEY, 'Content-Type': 'application/json' };
  if (token) {
    headers.Authorization = `Bearer ${token}`;
  }
  return Object.assign({ headers, tags: { name } }, extra || {});
}

/** The parsed body, or null when it is not JSON. */
export function body(res) {
  try {
    return res.json();
  } catch (_) {
    return null;
  }
}

/** Checks a success envelope: HTTP 200 and code "10000". Returns its `data` (null on failure). */
export function expectSuccess(res, name) {
  const envelope = body(res);
  const ok = check(res, {
    [`${name}: 200`]: (r) => r.status === 200,
    [`${name}: code 10000`]: () => envelope !== null && envelope.code === '10000',
  });
  return ok && envelope ? envelope.data : null;
}

/** GET `path` (from the gateway root, e.g. /blog/list/latest?page=1&limit=10). */
export function get(path, name, token) {
  return http.get(`${BASE_URL}${path}`, params(name, token));
}

/** GET `path` and check its success envelope; returns its `data` (null on failure). */
export function getOk(path, name, token) {
  return expectSuccess(get(path, name, token), name);
}

/**
 * The blog reads of the hot path, each checked and named as the scenarios' thresholds expect.
 * `data` is what ensurePublishedBlogs() returned.
 */
export const readBlog = {
  byId: (data) => getOk(`/blog/id/${pick(data.ids)}`, 'GET /blog/id/:id'),
  bySlug: (data) =>
    getOk(`/blog/slug/${encodeURIComponent(pick(data.slugs))}`, 'GET /blog/slug/:slug'),
  latest: (page) => getOk(`/blog/list/latest?page=${page}&limit=10`, 'GET /blog/list/latest'),
  byTag: (data) =>
    getOk(`/blog/list/tag/${pick(data.tags)}?page=1&limit=10`, 'GET /blog/list/tag/:tag'),
  similar: (data) => getOk(`/blog/list/similar/id/${pick(data.ids)}`, 'GET /blog/list/similar/id/:id'),
};

/** POST `payload` as JSON. */
export function post(path, payload, name, token) {
  return http.post(`${BASE_URL}${path}`, JSON.stringify(payload), params(name, token));
}

/** PUT `payload` as JSON (null: no body). */
export function put(path, payload, name, token) {
  const data = payload === null ? null : JSON.stringify(payload);
  return http.put(`${BASE_URL}${path}`, data, params(name, token));
}

/** DELETE. */
export function del(path, name, token) {
  return http.del(`${BASE_URL}${path}`, null, params(name, token));
}

/** Signs in; `{user, tokens: {accessToken, refreshToken}}` or null. */
export function signIn(email, password) {
  const res = post('/auth/signin/basic', { email, password }, 'POST /auth/signin/basic');
  return expectSuccess(res, 'POST /auth/signin/basic');
}

/** The published blogs the public lists show (up to 100). */
export function latestBlogs() {
  const res = get('/blog/list/latest?page=1&limit=100', 'GET /blog/list/latest');
  return expectSuccess(res, 'GET /blog/list/latest') || [];
}

const TOPICS = ['RUST', 'GATEWAY', 'NATS', 'CACHE'];

/**
 * Makes sure at least `min` blogs are published: creates, submits and publishes the missing ones as
 * the seeded admin (it holds AUTHOR and EDITOR; api.md 3.3). Returns what readers need:
 * `{ids, slugs, tags}` of the published blogs. Call it from setup().
 */
export function ensurePublishedBlogs(min) {
  let blogs = latestBlogs();
  const missing = min - blogs.length;
  if (missing > 0) {
    const session = signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
    if (!session) {
      fail(
        `cannot sign in as ${ADMIN_EMAIL} to create blogs to read: pass -e ADMIN_PASSWORD=$(cat data/admin-password) (is the stack seeded?)`,
      );
    }
    const token = session.tokens.accessToken;
    const run = Date.now().toString(36);
    for (let i = 0; i < missing; i++) {
      const topic = TOPICS[i % TOPICS.length];
      const created = expectSuccess(
        post(
          '/blog/author/',
          {
            title: `Load testing a ${topic.toLowerCase()} service, part ${i + 1}`,
            description: `How the ${topic.toLowerCase()} part of the blog platform behaves under load (k6 run ${run}).`,
            draftText: `Written by the k6 setup step of run ${run}. `.repeat(20),
            slug: `k6-${run}-${i + 1}`,
            imgUrl: 'https://example.com/k6.png',
            tags: ['K6', topic],
          },
          'POST /blog/author/',
          token,
        ),
        'POST /blog/author/',
      );
      if (!created) {
        fail('cannot create a blog to read: see the failed checks');
      }
      expectSuccess(
        put(`/blog/author/submit/id/${created._id}`, null, 'PUT /blog/author/submit/id/:id', token),
        'PUT /blog/author/submit/id/:id',
      );
      expectSuccess(
        put(`/blog/editor/publish/id/${created._id}`, null, 'PUT /blog/editor/publish/id/:id', token),
        'PUT /blog/editor/publish/id/:id',
      );
    }
    blogs = latestBlogs();
  }
  if (blogs.length === 0) {
    fail('no published blogs to read');
  }
  const tags = new Set();
  blogs.forEach((blog) => (blog.tags || []).forEach((tag) => tags.add(tag)));
  return {
    ids: blogs.map((blog) => blog._id),
    slugs: blogs.map((blog) => blog.slug),
    tags: Array.from(tags),
  };
}

/** A random element of `items`. */
export function pick(items) {
  return items[Math.floor(Math.random() * items.length)];
}
