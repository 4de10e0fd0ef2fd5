/**
 * The {@code workbench} command line: one class per sub-command, flags parsed with commons-cli,
 * recipes bound from YAML. User errors are one line and exit code 2.
 */
package org.llamawb.cli;
