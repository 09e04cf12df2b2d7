/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * img.h - `vmon img create|convert|info|check|commit|resize|rebase`
 * (docs/qcow2.md).
 */
#ifndef VMON_APP_IMG_H
#define VMON_APP_IMG_H

/* argv[0] is "img"; returns the exit code (check: 0, 2 corrupt, 3 leaks). */
int cmd_img(int argc, char **argv);

#endif
