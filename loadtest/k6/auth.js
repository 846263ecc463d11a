// The account path: sign up a new user, sign in, read the private profile, refresh the token pair,
// sign out (api.md 1.1). Write-heavy and CPU-bound by design: sign-up and sign-in each run one bcrypt
// hash or compare (cost 10, BCRYPT_COST), tens of milliseconds of one core each, so expect far fewer
// iterations per second than browse.js. Every iteration adds one user and leaves one keystore.
//
//   k6 run -e API_KEY=$(cat data/api-key) loadtest/k6/auth.js
//   -e VUS=5 -e DURATION=1m   concurrency and length (defaults)
import {
  SUMMARY_TREND_STATS,
  del,
  envInt,
  expectSuccess,
  get,
  post,
  requireApiKey,
} from './lib.js';

export const options = {
  scenarios: {
    auth: {
      executor: 'constant-vus',
      vus: envInt('VUS', 5),
      duration: __ENV.DURATION || '1m',
    },
  },
  thresholds: {
    'http_req_failed{scenario:auth}': ['rate<0.01'],
    'http_req_duration{scenario:auth}': ['p(95)<800', 'p(99)<1500'],
    // no bcrypt on these two: token checks and keystore reads/writes only
    'http_req_duration{scenario:auth,name:GET /auth/profile/mine}': ['p(95)<100'],
    'http_req_duration{scenario:auth,name:POST /auth/token/refresh}': ['p(95)<150'],
    'checks{scenario:auth}': ['rate>0.99'],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup() {
  requireApiKey();
  // unique per run, so that a second run does not hit `user already registered`
  return { run: Date.now().toString(36) };
}

export default function (data) {
  const email = `k6-${data.run}-${__VU}-${__ITER}@example.com`;
  const password = 'k6-password';

  let name = 'POST /auth/signup/basic';
  const signedUp = expectSuccess(post('/auth/signup/basic', { email, password, name: `k6 user ${__VU}` }, name), name);
  if (!signedUp) {
    return;
  }

  name = 'POST /auth/signin/basic';
  const session = expectSuccess(post('/auth/signin/basic', { email, password }, name), name);
  if (!session) {
    return;
  }
  const { accessToken, refreshToken } = session.tokens;

  name = 'GET /auth/profile/mine';
  expectSuccess(get('/auth/profile/mine', name, accessToken), name);

  // The refresh rotates the pair: the old one stops working, the new one signs out.
  name = 'POST /auth/token/refresh';
  const tokens = expectSuccess(post('/auth/token/refresh', { refreshToken }, name, accessToken), name);
  if (!tokens) {
    return;
  }

  name = 'DELETE /auth/signout';
  expectSuccess(del('/auth/signout', name, tokens.accessToken), name);
}
