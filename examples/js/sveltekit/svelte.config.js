import adapter from "@sveltejs/adapter-static";

/** A static site (build/): the store runs in the browser. */
export default {
    kit: { adapter: adapter() },
};
