// Read-heavy browsing, the platform's hot path: the latest list, lists by tag, one blog by id and by
// slug (both cached in Redis by blog-service), and a few similar-blog lists. Every request goes
// through the gateway with the API key (its verdict is cached by the gateway).
//
//   k6 run -e API_KEY=$(cat data/api-key) loadtest/k6/browse.js
//   -e VUS=20 -e DURATION=1m   concurrency and length (defaults)
//   -e BLOGS=20                published blogs to read; setup() creates what is missing
import { sleep } from 'k6';
import {
  SUMMARY_TREND_STATS,
  ensurePublishedBlogs,
  envInt,
  readBlog,
  requireApiKey,
} from './lib.js';

const THINK_SECONDS = parseFloat(__ENV.THINK || '0');

export const options = {
  scenarios: {
    browse: {
      executor: 'constant-vus',
      vus: envInt('VUS', 20),
      duration: __ENV.DURATION || '1m',
    },
  },
  // {scenario:browse}: setup()'s writes do not count.
  thresholds: {
    'http_req_failed{scenario:browse}': ['rate<0.01'],
    'http_req_duration{scenario:browse}': ['p(95)<100', 'p(99)<250'],
    'http_req_duration{scenario:browse,name:GET /blog/id/:id}': ['p(95)<50'],
    'http_req_duration{scenario:browse,name:GET /blog/slug/:slug}': ['p(95)<50'],
    'http_req_duration{scenario:browse,name:GET /blog/list/latest}': ['p(95)<150'],
    'http_req_duration{scenario:browse,name:GET /blog/list/tag/:tag}': ['p(95)<150'],
    'checks{scenario:browse}': ['rate>0.99'],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup() {
  requireApiKey();
  return ensurePublishedBlogs(envInt('BLOGS', 20));
}

export default function (data) {
  const roll = Math.random();
  if (roll < 0.3) {
    readBlog.latest(1 + Math.floor(Math.random() * 3));
  } else if (roll < 0.5) {
    readBlog.byTag(data);
  } else if (roll < 0.75) {
    readBlog.byId(data);
  } else if (roll < 0.95) {
    readBlog.bySlug(data);
  } else {
    readBlog.similar(data);
  }
  if (THINK_SECONDS > 0) {
    sleep(THINK_SECONDS);
  }
}
