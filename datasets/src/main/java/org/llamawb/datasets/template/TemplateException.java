package org.llamawb.datasets.template;

import org.llamawb.model.BadInputException;

/** A chat template rejected a conversation or could not be rendered; the message says why in one line. */
public class TemplateException extends BadInputException {
    private static final long serialVersionUID = 1L;

    public TemplateException(String message) {
        super(message);
    }
}
