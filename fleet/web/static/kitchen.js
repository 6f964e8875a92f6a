// The public canteen page, /kitchens/{id} (rendered by fleet/api while its
// viewing window is open): plays each camera published to everyone with
// the UI's one WHEP player (live.js), with no credentials (anonymous: a
// visitor's session cookie, if any, is not sent), and marks each figure
// data-playing when its first frame is decoded. For tests:
// window.bkPeers() are the players' peer connections.

import {t, setLang} from "./i18n.js";
import {Player} from "./live.js";

setLang(document.documentElement.lang === "en" ? "en" : "zh");

const players = [];
for (const fig of document.querySelectorAll("figure[data-camera]")) {
  const video = fig.querySelector("video");
  const state = fig.querySelector(".state");
  const player = new Player(video, fig.dataset.camera, {
    anonymous: true,
    onState(kind, text) {
      state.textContent = text;
      if (kind !== "playing") fig.dataset.playing = "false";
    },
    onFrame() { fig.dataset.playing = "true"; state.textContent = t("cam.playing"); },
    onRefused(code, message) { state.textContent = message || code; },
  });
  players.push(player);
  player.start();
}

window.bkPeers = () => players.map(p => p.pc).filter(Boolean);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) for (const p of players) if (!p.active) p.start();
});
