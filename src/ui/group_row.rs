//! `MpGroupRow`: a group header in the contact list (name, online/total, expander arrow).

use std::cell::RefCell;

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;

use super::a11y;
use crate::i18n::gettext_f;
use crate::model::MpGroup;

mod imp {
    use super::*;

    #[derive(Default, CompositeTemplate)]
    #[template(resource = "/io/github/mariposa/Mariposa/ui/group_row.ui")]
    pub struct MpGroupRow {
        #[template_child]
        pub expander: TemplateChild<gtk::Image>,
        #[template_child]
        pub name_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub count_label: TemplateChild<gtk::Label>,
        pub group: RefCell<Option<(MpGroup, glib::SignalHandlerId)>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpGroupRow {
        const NAME: &'static str = "MpGroupRow";
        type Type = super::MpGroupRow;
        type ParentType = gtk::Widget;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.set_layout_manager_type::<gtk::BinLayout>();
            klass.set_css_name("grouprow");
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for MpGroupRow {
        fn dispose(&self) {
            self.obj().unbind();
            self.dispose_template();
            while let Some(child) = self.obj().first_child() {
                child.unparent();
            }
        }
    }

    impl WidgetImpl for MpGroupRow {}
}

glib::wrapper! {
    /// A group header row.
    pub struct MpGroupRow(ObjectSubclass<imp::MpGroupRow>)
        @extends gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl Default for MpGroupRow {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl MpGroupRow {
    /// A new, unbound header.
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows `group` and follows its changes.
    pub fn bind(&self, group: &MpGroup) {
        self.unbind();
        let weak = self.downgrade();
        let handler = group.connect_notify_local(None, move |g, _| {
            if let Some(row) = weak.upgrade() {
                row.refresh(g);
            }
        });
        self.refresh(group);
        self.imp().group.replace(Some((group.clone(), handler)));
    }

    /// The bound group.
    pub fn group(&self) -> Option<MpGroup> {
        self.imp().group.borrow().as_ref().map(|(g, _)| g.clone())
    }

    /// Stops following the bound group.
    pub fn unbind(&self) {
        if let Some((group, handler)) = self.imp().group.take() {
            group.disconnect(handler);
        }
    }

    fn refresh(&self, g: &MpGroup) {
        let imp = self.imp();
        let name = g.name();
        imp.name_label.set_text(&name);
        let counts = format!("({}/{})", g.online(), g.total());
        imp.count_label.set_text(&counts);
        imp.expander.set_icon_name(Some(if g.expanded() {
            "pan-down-symbolic"
        } else {
            "pan-end-symbolic"
        }));
        let label = gettext_f(
            "{}, {} of {} online",
            &[&name, &g.online().to_string(), &g.total().to_string()],
        );
        a11y::set_label(self, &label, None);
        a11y::set_expanded(self, g.expanded());
    }
}
