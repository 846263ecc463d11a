// Saturation: an arrival rate that climbs until the stack cannot keep up. Unlike browse.js (a fixed
// number of users, each waiting for its answer), requests arrive on a schedule whether or not the
// previous ones were answered, so queueing shows up as latency and, past saturation, as errors and
// `dropped_iterations` (k6 had no free VU to start one on time). The request mix is browse.js's
// hot path: 50% one blog by id (Redis-cached), 25% by slug, 25% the latest list (database).
//
// The run stops early (abortOnFail) once errors pass 1% or p(95) passes 250 ms: the summary's
// `iterations` rate and the time of the abort show where saturation began. -e ABORT=false runs the
// whole ramp regardless.
//
//   k6 run -e API_KEY=$(cat data/api-key) loadtest/k6/ramp.js
//   -e MAX_RATE=2000    requests per second at the top of the ramp (default)
//   -e RAMP=2m -e HOLD=30s   climb time, then time held at MAX_RATE
//   -e MAX_VUS=400      the most concurrent requests k6 may have in flight
import {
  SUMMARY_TREND_STATS,
  ensurePublishedBlogs,
  envInt,
  readBlog,
  requireApiKey,
} from './lib.js';

const MAX_RATE = envInt('MAX_RATE', 2000);
const ABORT = (__ENV.ABORT || 'true') !== 'false';

function threshold(expression) {
  return { threshold: expression, abortOnFail: ABORT, delayAbortEval: '10s' };
}

export const options = {
  scenarios: {
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: Math.min(50, MAX_RATE),
      timeUnit: '1s',
      preAllocatedVUs: 50,
      maxVUs: envInt('MAX_VUS', 400),
      stages: [
        { target: MAX_RATE, duration: __ENV.RAMP || '2m' },
        { target: MAX_RATE, duration: __ENV.HOLD || '30s' },
      ],
    },
  },
  thresholds: {
    'http_req_failed{scenario:ramp}': [threshold('rate<0.01')],
    'http_req_duration{scenario:ramp}': [threshold('p(95)<250'), 'p(99)<500'],
    'checks{scenario:ramp}': ['rate>0.99'],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup() {
  requireApiKey();
  return ensurePublishedBlogs(envInt('BLOGS', 20));
}

export default function (data) {
  const roll = Math.random();
  if (roll < 0.5) {
    readBlog.byId(data);
  } else if (roll < 0.75) {
    readBlog.bySlug(data);
  } else {
    readBlog.latest(1);
  }
}
