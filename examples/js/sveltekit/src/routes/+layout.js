// The page is prerendered as a shell; the store is made in the browser
// (WebAssembly), so no server-side rendering of the search.
export const prerender = true;
export const ssr = false;
