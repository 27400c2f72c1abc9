import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
    plugins: [react()],
    // the package finds its .wasm with new URL(..., import.meta.url): keep
    // it out of the dev server's pre-bundling so the URL stays right
    optimizeDeps: { exclude: ["vecstore"] },
});
