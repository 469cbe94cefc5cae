/*
 * Getting an officer's attention: a short beep (WebAudio, nothing downloaded), a desktop
 * notification (asked for once, on a click) and a count in the tab's title.
 * Browsers let a page make sound or ask for notifications only after the person acted on it,
 * so both are prepared from a user gesture (the login, the "enable notifications" button).
 */
import { $, T, announce, hooks, state } from "./common.js";

const ASKED_KEY = "govchat.console.notifications-asked";
const BASE_TITLE = document.title;
var audio = null;

function notificationsSupported() {
  return "Notification" in window;
}

export function prepareSound() {
  var Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  if (!audio) audio = new Context();
  if (audio.state === "suspended") audio.resume();
}

// Asked once: after a refusal or a dismissal the browser's own setting is the way back.
export function askOnce() {
  prepareSound();
  if (!notificationsSupported() || Notification.permission !== "default") return;
  if (localStorage.getItem(ASKED_KEY)) return;
  askNow();
}

function askNow() {
  localStorage.setItem(ASKED_KEY, "1");
  Notification.requestPermission().then(function (permission) {
    if (permission === "granted") announce(T.notificationsOn);
    else if (permission === "denied") announce(T.notificationsDenied);
    showEnableButton();
  });
}

export function showEnableButton() {
  $("notify-enable").hidden = !notificationsSupported() || Notification.permission !== "default";
}

export function enableClicked() {
  prepareSound();
  if (notificationsSupported() && Notification.permission === "default") askNow();
}

function beep() {
  if (!audio || audio.state !== "running") return;
  var start = audio.currentTime;
  var tone = audio.createOscillator();
  var volume = audio.createGain();
  tone.type = "sine";
  tone.frequency.setValueAtTime(880, start);
  tone.frequency.setValueAtTime(660, start + 0.12);
  volume.gain.setValueAtTime(0.0001, start);
  volume.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
  volume.gain.exponentialRampToValueAtTime(0.0001, start + 0.3);
  tone.connect(volume);
  volume.connect(audio.destination);
  tone.start(start);
  tone.stop(start + 0.32);
}

// `tag` folds repeated alerts about one conversation into one notification.
export function alertOfficer(title, body, conversationId) {
  beep();
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  var notification = new Notification(title, { body: body, tag: "govchat-" + conversationId, lang: "th" });
  notification.onclick = function () {
    window.focus();
    hooks.openConversation(conversationId);
    notification.close();
  };
}

// What waits for someone: the queue of my departments plus my conversations with unread messages.
export function updateTitle() {
  var count = state.queueAll.length + state.unread.size;
  document.title = count ? "(" + count + ") " + BASE_TITLE : BASE_TITLE;
}
