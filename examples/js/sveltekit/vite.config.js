import { sveltekit } from "@sveltejs/kit/vite";
import { defineConfig } from "vite";

export default defineConfig({
    plugins: [sveltekit()],
    // the package finds its .wasm with new URL(..., import.meta.url): keep
    // it out of the dev server's pre-bundling so the URL stays right
    optimizeDeps: { exclude: ["vecstore"] },
});
