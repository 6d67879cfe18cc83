// The model registry: comes with the gateway's registry routes (see docs/webui.md).
import { h } from "../dom.js";

export async function render(root) {
  root.append(h("h1", {}, "Models"),
    h("p", { class: "muted" }, "The registry page is not served yet: use `mlgrpc models list`."));
}
