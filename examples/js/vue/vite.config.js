import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

export default defineConfig({
    plugins: [vue()],
    // the package finds its .wasm with new URL(..., import.meta.url): keep
    // it out of the dev server's pre-bundling so the URL stays right
    optimizeDeps: { exclude: ["vecstore"] },
});
