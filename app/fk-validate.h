/* fk-validate.h — checks for the numbers a clerk types in the field.
 *
 * A typo in an ID number found at the office means a second home visit, so
 * every number is checked where it is typed.  Each failure is a GError in
 * FK_VALIDATE_ERROR whose message says which rule failed and what to do,
 * in the current language (crypto/fk-i18n.h).  Messages never repeat the
 * value itself: they end up in logs and on shared screens.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FK_VALIDATE_ERROR (fk_validate_error_quark ())

typedef enum {
  FK_VALIDATE_ERROR_EMPTY,    /* nothing was entered */
  FK_VALIDATE_ERROR_LENGTH,   /* too many or too few characters */
  FK_VALIDATE_ERROR_LETTER,   /* the area letter (or a letter in the second place) is not allowed */
  FK_VALIDATE_ERROR_GENDER,   /* the second character is not a gender code this kind of number allows */
  FK_VALIDATE_ERROR_CHECKSUM, /* well-formed, but the check digit does not match */
  FK_VALIDATE_ERROR_FORMAT,   /* a character of the wrong sort, or a malformed catalog */
  FK_VALIDATE_ERROR_DATE,     /* a date that does not exist (2月30日, month 13) */
  FK_VALIDATE_ERROR_RANGE,    /* a value outside what the field allows */
} FkValidateError;

GQuark      fk_validate_error_quark (void);

typedef enum {
  FK_ID_KIND_NATIONAL,       /* 國民身分證統一編號: A123456789 */
  FK_ID_KIND_RESIDENT_OLD,   /* 外來人口統一證號, before 2021: AA00000009 */
  FK_ID_KIND_RESIDENT_NEW,   /* 外來人口統一證號, since 2021: A800000014 */
} FkIdKind;

/* "national_id", "resident_old", "resident_new": stable names for storage. */
const char *fk_id_kind_name         (FkIdKind     kind);
/* The kind as a clerk reads it, in the current language. */
const char *fk_id_kind_label        (FkIdKind     kind);

/* Trims, removes inner spaces and dashes, upper-cases ASCII letters and
 * converts full-width ASCII (Ａ１) to half-width.  NULL is treated as "".
 * Free with g_free. */
char       *fk_id_normalize         (const char  *input);

/* A national ID (國民身分證統一編號) or a resident number (外來人口統一證號;
 * old: 2 letters + 8 digits; new since 2021: letter + 8 or 9 + 8 digits).
 * Normalizes first.  On success sets *kind and *normalized (either may be
 * NULL; free *normalized with g_free). */
gboolean    fk_person_id_check      (const char  *input,
                                     FkIdKind    *kind,
                                     char       **normalized,
                                     GError     **error);

/* Only a national ID: letter + 1 or 2 + 8 digits, with its check digit. */
gboolean    fk_national_id_check    (const char  *input,
                                     char       **normalized,
                                     GError     **error);

/* 自然人憑證卡號: 2 letters + 14 digits (no public check digit exists). */
gboolean    fk_cert_card_check      (const char  *input,
                                     char       **normalized,
                                     GError     **error);

/* Taiwanese phone numbers: mobiles 09xx-xxx-xxx, landlines with their area
 * code (02-2345-6789, 04-2345-6789, 049-2345678, 0826-12345, 089-123456),
 * and the same with +886 in front.  *normalized is digits only, starting
 * with 0.  Extensions are refused: the office dials the main number. */
gboolean    fk_phone_check          (const char  *input,
                                     char       **normalized,
                                     GError     **error);

G_END_DECLS
