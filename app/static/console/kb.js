/*
 * The knowledge-base pages' entry point: signs in with the console's token, then starts the
 * page the server rendered (list, editor or review queue; CONFIG.view).
 */
import { CONFIG } from "./common.js";
import { start } from "./kb-common.js";
import { startEditor } from "./kb-editor.js";
import { startList } from "./kb-list.js";
import { startChanges } from "./kb-review.js";

const VIEWS = { list: startList, editor: startEditor, changes: startChanges };

start().then(function (me) {
  if (me) VIEWS[CONFIG.view]();
});
