/* SPDX-License-Identifier: GPL-2.0-only */
/* config.h - moved to src/config/config.h; this name still includes it. */
#include "../config/config.h"
