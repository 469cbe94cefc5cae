/*
 * Changes and versions: a change's card with its field-by-field diff and, for anyone but its
 * author, approve and reject-with-note (the server refuses the author anyway); the review queue
 * page; an entry's history, every version with both texts; and the NLU training status after an
 * approval that changed questions.
 */
import { $, ApiError, CONFIG, T, announce, api, clock, departmentName, el, format } from "./common.js";
import { KB, diffTable, entryPath, isMine, refreshPendingBadge, showError, shown, titles, who } from "./kb-common.js";

const TRAINING_POLL_MS = 1000;
var trainingTimer = null;

function changeTitle(change) {
  var fields = change.fields || {};
  return fields.title || titles[change.entry_id] || change.entry_id;
}

function reviewForm(change, onDone) {
  var noteId = "note-" + change.change_id;
  var errorId = "review-error-" + change.change_id;
  var title = changeTitle(change);
  var author = who(change.author && change.author.username);
  var note = el("textarea", { id: noteId, rows: "2", maxlength: "1000", "aria-describedby": errorId });
  var error = el("p", { id: errorId, className: "error", role: "alert" });
  function act(action, body) {
    error.textContent = "";
    return api("POST", KB + "/changes/" + encodeURIComponent(change.change_id) + "/" + action, body)
      .then(function (result) {
        var done = action === "approve" ? format(T.approved, { version: result.version }) : T.rejected;
        announce(done);
        refreshPendingBadge();
        onDone(action, result, done);
      })
      .catch(function (failure) {
        if (failure instanceof ApiError && failure.status === 409 && typeof failure.detail === "string") error.textContent = T.conflict + " (" + failure.detail + ")";
        else if (!(failure instanceof ApiError && failure.status === 401)) error.textContent = failure instanceof ApiError && failure.status === 422 ? T.noteRequired : T.failed;
      });
  }
  // the visible words first, then (for screen readers) which change: one name for both
  var which = function () {
    return el("span", { className: "visually-hidden", text: format(T.changeOf, { title: title, author: author }) });
  };
  var approve = el(
    "button",
    {
      type: "button",
      onclick: function () {
        act("approve");
      },
    },
    [T.approve, which()]
  );
  var reject = el(
    "button",
    {
      type: "button",
      className: "secondary",
      onclick: function () {
        if (!note.value.trim()) {
          error.textContent = T.noteRequired;
          note.focus();
          return;
        }
        act("reject", { note: note.value.trim() });
      },
    },
    [T.reject, which()]
  );
  return el("div", { className: "kb-review" }, [el("label", { for: noteId, text: T.noteFor }), note, error, el("div", { className: "kb-actions" }, [approve, reject])]);
}

export function changeCard(change, onDone, withEntryLink) {
  var status = CONFIG.labels.changeStatuses[change.status] || change.status;
  var title = changeTitle(change);
  var head = [
    withEntryLink && !change.is_new_entry ? el("a", { href: entryPath(change.entry_id), text: title }) : el("strong", { text: title }),
    el("span", { className: "kb-status change-" + change.status, text: status }),
  ];
  if (change.is_new_entry) head.push(el("span", { className: "kb-flag flag-new", text: T.newEntryChange }));
  var lines = [
    el("p", { className: "kb-card-head" }, head),
    el("p", { className: "kb-meta", text: departmentName(change.department) + " · " + format(T.authorLine, { author: who(change.author && change.author.username), time: clock(change.created_at) }) }),
  ];
  if (change.reviewed_by) lines.push(el("p", { className: "kb-meta", text: format(T.reviewedLine, { name: who(change.reviewed_by.username), time: clock(change.reviewed_at) }) }));
  if (change.note) lines.push(el("p", { className: "kb-note", text: format(T.noteLine, { note: change.note }) }));
  lines.push(diffTable(change.diff || [], title));
  if (change.status === "pending_review") {
    lines.push(isMine(change) ? el("p", { className: "kb-own", text: T.ownChange }) : reviewForm(change, onDone));
  }
  return el("li", { className: "kb-card kb-change", "data-change": change.change_id }, lines);
}

// ---- training status --------------------------------------------------------------------------
function showTraining(status) {
  var state = status.state === "idle" && status.pending_questions ? "waiting" : status.state;
  var text = format(CONFIG.labels.training[state] || status.state, { error: status.error || "" });
  $("training").hidden = false;
  $("training").dataset.state = status.state;
  $("training").textContent = format(T.training, { state: text });
}

export function followTraining() {
  window.clearTimeout(trainingTimer);
  return api("GET", KB + "/training")
    .then(function (status) {
      showTraining(status);
      // a failure stays until the next change retrains; nothing more to watch for
      if (status.state === "training" || (status.state === "idle" && status.pending_questions)) trainingTimer = window.setTimeout(followTraining, TRAINING_POLL_MS);
    })
    .catch(function () {
      $("training").hidden = true; // no training status on this hub: nothing to show
    });
}

// ---- an entry's pending changes and history ------------------------------------------------------
export function loadChanges(entryId, onApproved) {
  loadRejected(entryId).catch(function (error) {
    showError("editor-error", error);
  });
  return api("GET", KB + "/changes?status=pending_review&entry_id=" + encodeURIComponent(entryId))
    .then(function (data) {
      $("pending-section").hidden = data.changes.length === 0;
      $("pending-here").hidden = data.changes.length === 0;
      $("pending-here").firstElementChild.textContent = format(T.pendingHere, { n: data.changes.length });
      $("pending-list").replaceChildren.apply(
        $("pending-list"),
        data.changes.map(function (change) {
          return changeCard(change, function (action, result, done) {
            loadChanges(entryId, onApproved);
            if (action !== "approve") {
              $("submit-result").textContent = done;
              return;
            }
            if ("questions" in (change.fields || {})) followTraining();
            // said once the form shows the published version (refilling it clears the last result)
            Promise.resolve(onApproved()).then(function () {
              $("submit-result").textContent = done;
            });
          });
        })
      );
    })
    .catch(function (error) {
      showError("editor-error", error);
    });
}

const REJECTED_SHOWN = 3;

// The officer's own changes to this entry sent back, newest first, each with the reviewer's note.
function loadRejected(entryId) {
  return api("GET", KB + "/changes?status=rejected&entry_id=" + encodeURIComponent(entryId)).then(function (data) {
    var mine = data.changes.filter(isMine).slice(0, REJECTED_SHOWN);
    $("rejected-section").hidden = mine.length === 0;
    $("rejected-list").replaceChildren.apply(
      $("rejected-list"),
      mine.map(function (change) {
        return changeCard(change, function () {});
      })
    );
  });
}

function versionCard(version, index) {
  var approver = who(version.approved_by);
  var line = format(T.versionLine, { version: version.version, author: who(version.author), approver: approver, time: clock(version.at) });
  var children = [el("p", { className: "kb-card-head" }, [el("strong", { text: line })])];
  if (index === 0 || !(version.diff || []).length) children.push(el("p", { className: "hint", text: T.firstVersion }));
  else children.push(diffTable(version.diff, line));
  var fields = version.fields || {};
  var whole = el("details", { className: "kb-version" }, [
    el("summary", { text: format(T.showVersion, { version: version.version }) }),
    el(
      "dl",
      { className: "kb-facts" },
      Object.keys(fields).map(function (field) {
        return el("div", {}, [el("dt", { text: CONFIG.labels.fields[field] || field }), el("dd", { text: shown(field, fields[field]) })]);
      })
    ),
  ]);
  children.push(whole);
  return el("li", { className: "kb-card", "data-version": String(version.version) }, children);
}

export function loadHistory(entryId) {
  return api("GET", KB + "/entries/" + encodeURIComponent(entryId) + "/history")
    .then(function (data) {
      var versions = data.versions.map(versionCard).reverse(); // newest first to read
      $("history-list").replaceChildren.apply($("history-list"), versions);
      $("history-section").hidden = false;
    })
    .catch(function (error) {
      showError("editor-error", error);
    });
}

// ---- the review queue page ----------------------------------------------------------------------
function loadQueue() {
  var status = $("changes-status").value;
  return api("GET", KB + "/changes?status=" + encodeURIComponent(status))
    .then(function (data) {
      $("changes-error").textContent = "";
      $("changes-count").textContent = format(T.count, { n: data.changes.length });
      $("changes-empty").hidden = data.changes.length > 0;
      $("changes-list").replaceChildren.apply(
        $("changes-list"),
        data.changes.map(function (change) {
          return changeCard(
            change,
            function (action) {
              loadQueue();
              if (action === "approve" && "questions" in (change.fields || {})) followTraining();
            },
            true
          );
        })
      );
    })
    .catch(function (error) {
      showError("changes-error", error);
    });
}

export function startChanges() {
  $("changes-status").addEventListener("change", loadQueue);
  refreshPendingBadge();
  return loadQueue();
}
