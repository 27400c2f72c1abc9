/** A static export (out/): the search runs in the browser, so any static
 *  server, a CDN or `npx serve out` hosts it. */
const config = {
    output: "export",
};
export default config;
