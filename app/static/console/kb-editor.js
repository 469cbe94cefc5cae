/*
 * The entry editor: the published version in a form, a live preview per channel, the server's
 * own validation (`/check`, the rules `kb validate` applies) shown at each field in Thai while
 * typing, and submission as a change that waits for a second person's approval. A new entry
 * (`/console/kb/new`) and a question brought from the insights page (`?add_question=`) start here.
 */
import { $, ApiError, CONFIG, T, announce, api, departmentName, el, format, state } from "./common.js";
import { KB, entryPath, limits, page, showError, titles } from "./kb-common.js";
import { loadChanges, loadHistory } from "./kb-review.js";
import { renderCounter, renderPreview } from "./kb-preview.js";

const TEXT_FIELDS = ["title", "answer", "detail", "source_url", "reviewed_at", "expires_at", "title_en", "answer_en"];
const OPTIONAL = ["detail", "expires_at", "title_en", "answer_en"];
const CHECK_DELAY_MS = 500;

var entry = null; // the published version (null: a new entry)
var questions = [];
var duplicates = {}; // question -> near-duplicate notes from /check
var checkTimer = null;
var checkSeq = 0;

function entryId() {
  return entry ? entry.id : $("field-entry_id").value.trim();
}

function department() {
  return entry ? entry.department : $("field-department").value;
}

function related() {
  return Array.from(document.querySelectorAll("#related-list input:checked")).map(function (box) {
    return box.value;
  });
}

export function readDraft() {
  var draft = { questions: questions.slice(), related: related() };
  TEXT_FIELDS.forEach(function (field) {
    var value = $("field-" + field).value;
    draft[field] = OPTIONAL.indexOf(field) >= 0 && !value.trim() ? null : value;
  });
  return draft;
}

function same(a, b) {
  var blank = function (v) {
    return v === null || v === undefined || v === "";
  };
  if (blank(a) && blank(b)) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

// Only what differs from the published version (a change is partial over it); all of a new entry.
function changedFields(draft) {
  var fields = {};
  Object.keys(draft).forEach(function (field) {
    if (!entry) {
      if (draft[field] !== null && !(Array.isArray(draft[field]) && field === "related" && !draft[field].length)) fields[field] = draft[field];
    } else if (!same(draft[field], entry[field])) fields[field] = draft[field];
  });
  return fields;
}

// ---- validation shown at each field --------------------------------------------------------
function clearProblems() {
  document.querySelectorAll(".field-error").forEach(function (p) {
    p.textContent = "";
  });
  document.querySelectorAll("[aria-invalid]").forEach(function (input) {
    input.removeAttribute("aria-invalid");
  });
}

function showProblems(problems) {
  clearProblems();
  var unplaced = [];
  problems.forEach(function (problem) {
    var field = String(problem.field || "").split(/[.[]/)[0];
    if (field === "id") field = "entry_id";
    var target = $("error-" + field);
    if (!target) {
      unplaced.push(problem.msg);
      return;
    }
    target.textContent = (target.textContent ? target.textContent + " " : "") + problem.msg;
    var input = $("field-" + field) || (field === "questions" ? $("question-new") : null);
    if (input) input.setAttribute("aria-invalid", "true");
    if (field === "answer_en" || field === "title_en") $("english").open = true;
  });
  var summary = problems.length ? format(T.problems, { n: problems.length }) : T.checkedOk;
  $("check-status").textContent = summary + (unplaced.length ? " " + unplaced.join(" ") : "");
  $("check-status").className = "kb-check " + (problems.length ? "has-problems" : "is-ok");
}

function problemsFrom422(detail) {
  if (!Array.isArray(detail)) return [{ field: "", msg: String(detail || T.failed) }];
  return detail.map(function (item) {
    var loc = item.loc || [];
    return { field: item.field || loc[loc.length - 1] || "", msg: item.msg };
  });
}

function check() {
  var seq = ++checkSeq;
  var body = { entry_id: entryId(), department: department(), fields: readDraft() };
  if (!body.entry_id || !body.department) return Promise.resolve();
  return api("POST", KB + "/check", body)
    .then(function (result) {
      if (seq !== checkSeq) return;
      duplicates = {};
      (result.near_duplicates || []).forEach(function (dup) {
        (duplicates[dup.question] = duplicates[dup.question] || []).push(dup);
      });
      renderQuestions();
      showProblems(result.problems || []);
    })
    .catch(function (error) {
      if (seq === checkSeq && error instanceof ApiError && error.status === 422) showProblems(problemsFrom422(error.detail));
    });
}

function changed() {
  var draft = readDraft();
  var english = Boolean(draft.title_en && draft.answer_en);
  $("preview-english").disabled = !english;
  renderPreview(draft, english && $("preview-english").checked);
  renderCounter("count-answer", draft.answer || "", limits.answer);
  renderCounter("count-answer_en", draft.answer_en || "", limits.answer_en);
  $("submit-result").textContent = "";
  window.clearTimeout(checkTimer);
  $("check-status").textContent = T.checking;
  $("check-status").className = "kb-check";
  checkTimer = window.setTimeout(check, CHECK_DELAY_MS);
}

// ---- questions and related entries ----------------------------------------------------------
function renderQuestions() {
  var list = $("questions-list");
  list.replaceChildren.apply(
    list,
    questions.map(function (question, index) {
      var notes = (duplicates[question] || []).map(function (dup) {
        return el("p", { className: "kb-duplicate" }, [format(T.nearDuplicate, { title: dup.title || titles[dup.entry_id] || dup.entry_id }) + " ", el("a", { href: entryPath(dup.entry_id), text: dup.title || dup.entry_id })]);
      });
      return el("li", { "data-question": question }, [
        el("span", { className: "kb-question", text: question }),
        el(
          "button",
          {
            type: "button",
            className: "secondary small",
            onclick: function () {
              questions.splice(index, 1);
              renderQuestions();
              changed();
            },
          },
          [T.remove, el("span", { className: "visually-hidden", text: format(T.removeQuestion, { question: question }) })]
        ),
      ].concat(notes));
    })
  );
}

function addQuestion(text) {
  var question = text.replace(/\s+/g, " ").trim();
  if (!question) return false;
  if (questions.indexOf(question) < 0) questions.push(question);
  renderQuestions();
  return true;
}

function renderRelated(candidates, chosen) {
  var ids = candidates.filter(function (id) {
    return id !== entryId();
  });
  chosen.forEach(function (id) {
    if (ids.indexOf(id) < 0) ids.push(id);
  });
  var list = $("related-list");
  if (!ids.length) {
    list.replaceChildren(el("p", { className: "hint", text: T.noRelated }));
    return;
  }
  list.replaceChildren.apply(
    list,
    ids.map(function (id) {
      var box = el("input", { type: "checkbox", value: id, id: "related-" + id });
      box.checked = chosen.indexOf(id) >= 0;
      box.addEventListener("change", changed);
      return el("div", { className: "kb-related-item" }, [box, el("label", { for: "related-" + id, text: titles[id] || id })]);
    })
  );
}

// ---- load, submit, retire ---------------------------------------------------------------------
function fill(published) {
  TEXT_FIELDS.forEach(function (field) {
    $("field-" + field).value = (published && published[field]) || "";
  });
  questions = published ? published.questions.slice() : [];
  $("english").open = Boolean(published && (published.title_en || published.answer_en));
}

function header() {
  $("editor-title").textContent = entry ? format(T.editTitle, { title: entry.title }) : T.newEntryTitle;
  $("new-entry-fields").hidden = Boolean(entry);
  $("retire").hidden = !entry;
  if (!entry) return;
  var retired = entry.status === "retired";
  $("editor-meta").textContent = [departmentName(entry.department), CONFIG.labels.entryStatuses[entry.status], format(T.versionOf, { version: entry.version })].join(" · ");
  $("retired-note").hidden = !retired;
  $("retired-note").textContent = T.retiredNote;
  $("retire").textContent = retired ? T.restore : T.retire;
}

function submitChange(fields, done) {
  var body = { entry_id: entryId(), department: department(), fields: fields };
  return api("POST", KB + "/changes", body)
    .then(function () {
      $("submit-result").textContent = done;
      announce(done);
      if (!entry) return; // a new entry has no page of its own until it is approved
      return loadChanges(entry.id, reload);
    })
    .catch(function (error) {
      if (error instanceof ApiError && error.status === 422) {
        showProblems(problemsFrom422(error.detail));
        var first = document.querySelector("[aria-invalid=true]");
        if (first) first.focus();
      } else showError("editor-error", error);
    });
}

function submit(event) {
  event.preventDefault();
  var fields = changedFields(readDraft());
  if (!Object.keys(fields).length) {
    $("submit-result").textContent = T.noChanges;
    return;
  }
  submitChange(fields, T.submitted);
}

function retire() {
  var retired = entry.status === "retired";
  submitChange({ status: retired ? "published" : "retired" }, retired ? T.restoreSubmitted : T.retireSubmitted);
}

function candidates() {
  return api("GET", KB + "/entries").then(function (data) {
    data.entries.forEach(function (other) {
      titles[other.id] = other.title;
    });
    return data.entries
      .filter(function (other) {
        return other.status === "published" && (!entry || other.department === entry.department);
      })
      .map(function (other) {
        return other.id;
      });
  });
}

// After an approval: the entry as now published, its history and what is still pending.
// After an approval here: the form shows the version now published, so that a later submission
// is a change over it (keeping the old texts in the form would offer to undo the approval).
function reload() {
  return Promise.all([api("GET", KB + "/entries/" + encodeURIComponent(entry.id)), candidates()]).then(function (loaded) {
    entry = loaded[0];
    fill(entry);
    header();
    renderQuestions();
    renderRelated(loaded[1], entry.related || []);
    changed();
    loadHistory(entry.id);
  });
}

function setUp(published) {
  entry = published;
  fill(published);
  header();
  var select = $("field-department");
  select.append(el("option", { value: "", text: T.pickDepartment }));
  state.me.departments.forEach(function (id) {
    select.append(el("option", { value: id, text: departmentName(id) }));
  });
  if (page.department) select.value = page.department;
  if (page.question && addQuestion(page.question)) announce(format(T.addedQuestion, { question: page.question }));
  renderQuestions();
  $("editor").hidden = false;
  return candidates().then(function (ids) {
    renderRelated(ids, published ? published.related || [] : []);
    changed();
    $("editor-title").focus();
  });
}

export function startEditor() {
  var form = $("entry-form");
  form.addEventListener("input", function (event) {
    if (event.target.id !== "question-new") changed();
  });
  form.addEventListener("submit", submit);
  $("field-department").addEventListener("change", changed);
  $("preview-english").addEventListener("change", changed);
  $("question-add").addEventListener("click", function () {
    if (addQuestion($("question-new").value)) {
      $("question-new").value = "";
      changed();
    }
    $("question-new").focus();
  });
  $("question-new").addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      $("question-add").click();
    }
  });
  $("retire").addEventListener("click", retire);
  if (!page.entry_id) return setUp(null);
  return api("GET", KB + "/entries/" + encodeURIComponent(page.entry_id))
    .then(function (published) {
      return setUp(published).then(function () {
        loadChanges(published.id, reload);
        loadHistory(published.id);
      });
    })
    .catch(function (error) {
      showError("editor-error", error);
    });
}
