// What every benchmark request carries besides its own headers: the Accept-Encoding that browsers, fetch
// (undici) and game-engine HTTP clients send. The service answers large cached bodies gzipped when it is
// present, so leaving it out would measure a client nobody runs. `store-cached-identity` measures the same page
// with `accept-encoding: identity`, for comparison.
export const CLIENT_HEADERS: Readonly<Record<string, string>> = { 'accept-encoding': 'gzip, deflate, br' };
