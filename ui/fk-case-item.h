/* fk-case-item.h — one case as a row of the outing's list (GListModel).
 *
 * Holds only what the row shows: the local number, status, receipt
 * number, service and the person's name (personal: the outing page, and
 * with it every item, is destroyed when the window locks). */
#pragma once

#include <glib-object.h>

#include "app/fk-store.h"

G_BEGIN_DECLS

#define FK_TYPE_CASE_ITEM (fk_case_item_get_type ())
G_DECLARE_FINAL_TYPE (FkCaseItem, fk_case_item, FK, CASE_ITEM, GObject)

FkCaseItem   *fk_case_item_new        (gint64        id,
                                       FkCaseStatus  status,
                                       const char   *receipt_no,
                                       const char   *service,
                                       const char   *name);
FkCaseItem   *fk_case_item_new_from_case (const FkCase *kase);
gint64        fk_case_item_get_id      (FkCaseItem *self);
FkCaseStatus  fk_case_item_get_status  (FkCaseItem *self);
const char   *fk_case_item_get_receipt (FkCaseItem *self);
const char   *fk_case_item_get_service (FkCaseItem *self);
const char   *fk_case_item_get_name    (FkCaseItem *self);
/* Whether the name contains needle (already case-folded). */
gboolean      fk_case_item_name_matches (FkCaseItem *self,
                                         const char *folded_needle);
/* Whether the receipt number contains needle (case-folded), ignoring case. */
gboolean      fk_case_item_receipt_matches (FkCaseItem *self,
                                            const char *folded_needle);

G_END_DECLS
