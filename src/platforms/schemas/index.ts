/** Response (and request-body) schemas of every outbound API: what the clients validate and the sandbox serves. */
export * from './vercel';
export * from './netlify';
export * from './supabase';
export * from './statuspage';
export * from './pagerduty';
export * from './chat';
export * from './app';
