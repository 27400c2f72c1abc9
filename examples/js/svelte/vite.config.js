import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

export default defineConfig({
    plugins: [svelte()],
    // the package finds its .wasm with new URL(..., import.meta.url): keep
    // it out of the dev server's pre-bundling so the URL stays right
    optimizeDeps: { exclude: ["vecstore"] },
});
